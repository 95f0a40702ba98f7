/* Redaction of connection descriptions: every form libpq accepts keeps
 * host, port, dbname and user and shows a password only as ***. The
 * secret, or any piece of it, must never come out. */
#include <stdlib.h>

#include "core/redact.h"
#include "unit_assert.h"

/* Checks that TEXT, the description of a connection made with SECRET,
 * equals EXPECTED and holds no part of the secret. */
static void check_redacted(char *text, const char *secret, const char *expected) {
  ASSERT_TRUE(text != NULL, "redaction returned NULL");
  ASSERT_NOT_CONTAINS(text, secret);
  /* Any three-character piece of the secret would be a leak too. */
  for (size_t i = 0; secret[i] && secret[i + 1] && secret[i + 2]; i++) {
    char piece[4] = {secret[i], secret[i + 1], secret[i + 2], 0};
    ASSERT_NOT_CONTAINS(text, piece);
  }
  ASSERT_STR_EQ(text, expected);
}

/* The same for a connection's description, which is given back with
 * pw__description_release. */
static void check_description(char *description, const char *secret, const char *expected) {
  check_redacted(description, secret, expected);
  pw__description_release(description);
}

static void test_conninfo_keywords(void **state) {
  check_description(
      pw__redact_conninfo("host=db.example port=5433 dbname=shop user=app password=Xy7secret"),
      "Xy7secret", "host=db.example port=5433 dbname=shop user=app password=***");
}

/* A program connects with the same conninfo again and again, and the last
 * description is remembered: conninfos of the same length that differ
 * must still each get their own, in any order. */
static void test_conninfo_repeated_and_alternating(void **state) {
  for (int round = 0; round < 3; round++) {
    check_description(pw__redact_conninfo("host=a dbname=x user=u password=Pw1secret"), "Pw1secret",
                      "host=a dbname=x user=u password=***");
    check_description(pw__redact_conninfo("host=b dbname=y user=v password=Pw1secret"), "Pw1secret",
                      "host=b dbname=y user=v password=***");
    check_description(pw__redact_conninfo("host=b dbname=y user=v password=Pw1secret"), "Pw1secret",
                      "host=b dbname=y user=v password=***");
  }
}

/* The memo hands the same description to each repeated connect: it lives
 * until its last holder gives it back, whichever that is. */
static void test_conninfo_description_outlives_each_holder(void **state) {
  char *first = pw__redact_conninfo("host=c dbname=z user=w password=Pw1secret");
  char *second = pw__redact_conninfo("host=c dbname=z user=w password=Pw1secret");
  pw__description_release(first);
  char *other = pw__redact_conninfo("host=d dbname=z user=w password=Pw1secret");
  ASSERT_STR_EQ(second, "host=c dbname=z user=w password=***");
  pw__description_release(other);
  check_description(second, "Pw1secret", "host=c dbname=z user=w password=***");
}

static void test_conninfo_keeps_only_what_identifies_the_server(void **state) {
  /* The server, the user and the application name tell connections apart;
   * other keywords (sslkey paths, timeouts) are dropped. */
  check_description(pw__redact_conninfo("application_name=web sslmode=require password=Xy7secret "
                                     "host=db user=app connect_timeout=5"),
                    "Xy7secret", "host=db user=app application_name=web password=***");
}

static void test_conninfo_quoted_values(void **state) {
  check_description(pw__redact_conninfo("host='db one' dbname='my shop' password='pa ss\\'wo rd'"),
                    "pa ss'wo rd", "host='db one' dbname='my shop' password=***");
  /* The quoted pieces of the password, one at a time. */
  char *text = pw__redact_conninfo("password='pa ss\\'wo rd' user=app");
  ASSERT_NOT_CONTAINS(text, "wo rd");
  ASSERT_NOT_CONTAINS(text, "pa ss");
  ASSERT_STR_EQ(text, "user=app password=***");
  pw__description_release(text);
}

static void test_conninfo_spaces_around_equals(void **state) {
  check_description(pw__redact_conninfo("  host = db   password =   Xy7secret   user= app "),
                    "Xy7secret", "host=db user=app password=***");
}

static void test_conninfo_without_password(void **state) {
  char *text = pw__redact_conninfo("host=/var/run/postgresql dbname=shop");
  ASSERT_STR_EQ(text, "host=/var/run/postgresql dbname=shop");
  ASSERT_NOT_CONTAINS(text, "password");
  pw__description_release(text);
  text = pw__redact_conninfo("");
  ASSERT_STR_EQ(text, ""); /* an empty description, not NULL */
  pw__description_release(text);
}

static void test_conninfo_empty_password_is_no_password(void **state) {
  char *text = pw__redact_conninfo("host=db password=''");
  ASSERT_STR_EQ(text, "host=db");
  pw__description_release(text);
}

static void test_uri_with_user_and_password(void **state) {
  check_description(pw__redact_conninfo("postgresql://app:Xy7secret@db.example:5433/shop"),
                    "Xy7secret", "host=db.example port=5433 dbname=shop user=app password=***");
  check_description(pw__redact_conninfo("postgres://app:Xy7secret@db.example/shop?sslmode=require"),
                    "Xy7secret", "host=db.example dbname=shop user=app password=***");
}

static void test_uri_with_password_parameter(void **state) {
  check_description(
      pw__redact_conninfo("postgresql://app@db.example/shop?sslmode=require&password=Xy7secret"),
      "Xy7secret", "host=db.example dbname=shop user=app password=***");
  check_description(pw__redact_conninfo("postgresql:///shop?host=/tmp&password=Xy7secret&user=app"),
                    "Xy7secret", "host=/tmp dbname=shop user=app password=***");
}

static void test_uri_with_ipv6_host(void **state) {
  check_description(pw__redact_conninfo("postgresql://app:Xy7secret@[2001:db8::1]:5433/shop"),
                    "Xy7secret", "host=[2001:db8::1] port=5433 dbname=shop user=app password=***");
}

static void test_uri_password_with_reserved_characters(void **state) {
  /* libpq looks for "user:password@" up to the first '/', so '?', '#', '&'
   * and '=' are part of the password (generated passwords hold them). */
  check_description(pw__redact_conninfo("postgresql://app:Xy7?se=cret@db.example/shop"),
                    "Xy7?se=cret", "host=db.example dbname=shop user=app password=***");
  check_description(pw__redact_conninfo("postgresql://app:Xy7#sec&ret@db.example:5433/shop"),
                    "Xy7#sec&ret", "host=db.example port=5433 dbname=shop user=app password=***");
}

static void test_uri_percent_encoded_password(void **state) {
  check_description(pw__redact_conninfo("postgresql://app:Xy7%40secret@db/shop"), "Xy7%40secret",
                    "host=db dbname=shop user=app password=***");
}

static void test_keyword_arrays(void **state) {
  const char *const keywords[] = {"host", "port", "dbname", "user", "password", NULL};
  const char *const values[] = {"db.example", "5433", "shop", "app", "Xy7secret", NULL};
  check_description(pw__redact_params(keywords, values, 0), "Xy7secret",
                    "host=db.example port=5433 dbname=shop user=app password=***");
}

static void test_keyword_arrays_skip_empty_and_null_values(void **state) {
  /* libpq ignores empty values: an empty password is no password. */
  const char *const keywords[] = {"host", "password", "user", NULL};
  const char *const values[] = {"db", "", NULL, NULL};
  char *text = pw__redact_params(keywords, values, 0);
  ASSERT_STR_EQ(text, "host=db");
  pw__description_release(text);
}

static void test_keyword_arrays_expand_dbname(void **state) {
  /* With expand_dbname, a dbname value may itself carry the password. */
  const char *const keywords[] = {"dbname", "application_name", NULL};
  const char *const uri[] = {"postgresql://app:Xy7secret@db/shop", "web", NULL};
  check_description(pw__redact_params(keywords, uri, 1), "Xy7secret",
                    "host=db dbname=shop user=app application_name=web password=***");
  const char *const conninfo[] = {"host=db dbname=shop password=Xy7secret", "web", NULL};
  check_description(pw__redact_params(keywords, conninfo, 1), "Xy7secret",
                    "host=db dbname=shop application_name=web password=***");
}

static void test_login_arguments(void **state) {
  check_description(pw__redact_login("db.example", "5433", "shop", "app", "Xy7secret"), "Xy7secret",
                    "host=db.example port=5433 dbname=shop user=app password=***");
  /* PQsetdbLogin's dbname may be a whole conninfo string or URI. */
  check_description(pw__redact_login(NULL, NULL, "host=db password=Xy7secret", "app", NULL),
                    "Xy7secret", "host=db user=app password=***");
  check_description(pw__redact_login(NULL, "", "postgresql://app:Xy7secret@db/shop", NULL, ""),
                    "Xy7secret", "host=db dbname=shop user=app password=***");
}

static void test_values_that_need_quoting_are_quoted(void **state) {
  /* The output is itself valid conninfo, so it can be pasted into psql. */
  char *text = pw__redact_params((const char *const[]){"dbname", "user", NULL},
                                 (const char *const[]){"my shop", "o'brien", NULL}, 0);
  ASSERT_STR_EQ(text, "dbname='my shop' user='o\\'brien'");
  pw__description_release(text);
}

/* pw__redact_text: free text such as a command-line argument, where only
 * the secrets are replaced and everything else is kept. */
static void check_text(const char *text, const char *secret, const char *expected) {
  char *redacted = pw__redact_text(text);
  check_redacted(redacted, secret, expected);
  free(redacted);
}

static void test_text_keeps_all_but_the_password(void **state) {
  check_text("psql postgresql://app:Xy7secret@db.example:5433/shop -c 'select 1'", "Xy7secret",
             "psql postgresql://app:***@db.example:5433/shop -c 'select 1'");
  check_text("host=db password=Xy7secret user=app", "Xy7secret",
             "host=db password=*** user=app");
  check_text("host=db password='Xy7 sec ret' user=app", "Xy7 sec ret",
             "host=db password=*** user=app");
  check_text("PGPASSWORD=Xy7secret", "Xy7secret", "PGPASSWORD=***");
  check_text("postgresql://db/shop?sslmode=require&password=Xy7secret&user=app", "Xy7secret",
             "postgresql://db/shop?sslmode=require&password=***&user=app");
  check_text("--verbose", "Xy7secret", "--verbose");
}

static void test_text_uri_password_with_reserved_characters(void **state) {
  check_text("postgresql://app:Xy7?se=cret@db.example/shop", "Xy7?se=cret",
             "postgresql://app:***@db.example/shop");
  check_text("postgresql://app:Xy7#secret@db.example/shop", "Xy7#secret",
             "postgresql://app:***@db.example/shop");
}

static void test_text_other_password_spellings(void **state) {
  /* A password may hold ';': everything after Pwd= up to a space goes. */
  check_text("Driver=PostgreSQL;Server=db;Uid=app;Pwd=Xy7secret;Port=5432", "Xy7secret",
             "Driver=PostgreSQL;Server=db;Uid=app;Pwd=***");
  check_text("password=Xy7;se,cret} host=db", "se,cret", "password=*** host=db");
  check_text("--passwd=Xy7secret", "Xy7secret", "--passwd=***");
  check_text("{\"user\": \"app\", \"password\": \"Xy7 se\\\"cret\"}", "Xy7 se",
             "{\"user\": \"app\", \"password\": ***}");
  check_text("{'password':'Xy7secret'}", "Xy7secret", "{'password':***}");
  /* A keyword starts a word: cwd= and password_file= are not secrets. */
  check_text("cwd=/srv/app", "Xy7secret", "cwd=/srv/app");
  check_text("--password", "Xy7secret", "--password");
}

static void test_options_whose_next_argument_is_a_secret(void **state) {
  ASSERT_TRUE(pw__redact_option_takes_secret("--password"), "--password VALUE");
  ASSERT_TRUE(pw__redact_option_takes_secret("-W"), "-W VALUE");
  ASSERT_TRUE(!pw__redact_option_takes_secret("-w"), "-w takes no value");
  ASSERT_TRUE(!pw__redact_option_takes_secret("--password=x"), "the value is in the argument");
  ASSERT_TRUE(!pw__redact_option_takes_secret(NULL), "NULL");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conninfo_keywords),
    cmocka_unit_test(test_conninfo_repeated_and_alternating),
    cmocka_unit_test(test_conninfo_description_outlives_each_holder),
    cmocka_unit_test(test_conninfo_keeps_only_what_identifies_the_server),
    cmocka_unit_test(test_conninfo_quoted_values),
    cmocka_unit_test(test_conninfo_spaces_around_equals),
    cmocka_unit_test(test_conninfo_without_password),
    cmocka_unit_test(test_conninfo_empty_password_is_no_password),
    cmocka_unit_test(test_uri_with_user_and_password),
    cmocka_unit_test(test_uri_with_password_parameter),
    cmocka_unit_test(test_uri_with_ipv6_host),
    cmocka_unit_test(test_uri_password_with_reserved_characters),
    cmocka_unit_test(test_uri_percent_encoded_password),
    cmocka_unit_test(test_keyword_arrays),
    cmocka_unit_test(test_keyword_arrays_skip_empty_and_null_values),
    cmocka_unit_test(test_keyword_arrays_expand_dbname),
    cmocka_unit_test(test_login_arguments),
    cmocka_unit_test(test_values_that_need_quoting_are_quoted),
    cmocka_unit_test(test_text_keeps_all_but_the_password),
    cmocka_unit_test(test_text_uri_password_with_reserved_characters),
    cmocka_unit_test(test_text_other_password_spellings),
    cmocka_unit_test(test_options_whose_next_argument_is_a_secret),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

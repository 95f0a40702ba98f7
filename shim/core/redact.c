/* Masking secrets in connection descriptions: a few keys kept, passwords as ***. */
#include "core/redact.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/spinlock.h"

/* The fields worth showing, collected from whichever form was used. */
typedef struct fields {
  char host[128], port[16], dbname[128], user[128], application_name[64];
  bool password;
} fields;

static void set(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}


static bool is_uri(const char *s) {
  return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

static void take(fields *f, const char *key, size_t key_len, const char *value, size_t n) {
#define KEY_IS(k) (key_len == strlen(k) && strncmp(key, k, key_len) == 0)
  if (KEY_IS("host") || KEY_IS("hostaddr")) set(f->host, sizeof(f->host), value, n);
  else if (KEY_IS("port")) set(f->port, sizeof(f->port), value, n);
  else if (KEY_IS("dbname")) set(f->dbname, sizeof(f->dbname), value, n);
  else if (KEY_IS("user")) set(f->user, sizeof(f->user), value, n);
  else if (KEY_IS("application_name"))
    set(f->application_name, sizeof(f->application_name), value, n);
  else if (KEY_IS("password")) f->password = n > 0;
#undef KEY_IS
}

/* libpq's keyword=value syntax: values may be single-quoted, with
 * backslash escapes. Unknown keywords are skipped. */
static void parse_keywords(fields *f, const char *p) {
  char value[512];
  while (*p) {
    while (isspace((unsigned char)*p)) p++;
    const char *key = p;
    while (*p && *p != '=' && !isspace((unsigned char)*p)) p++;
    size_t key_len = (size_t)(p - key);
    while (isspace((unsigned char)*p)) p++;
    if (*p != '=') return;
    p++;
    while (isspace((unsigned char)*p)) p++;
    size_t n = 0;
    bool quoted = *p == '\'';
    if (quoted) p++;
    while (*p && (quoted ? *p != '\'' : !isspace((unsigned char)*p))) {
      if (*p == '\\' && p[1]) p++;
      if (n < sizeof(value) - 1) value[n++] = *p;
      p++;
    }
    if (quoted && *p == '\'') p++;
    if (key_len) take(f, key, key_len, value, n);
  }
}

/* postgresql://[user[:password]@][host][:port][,...][/dbname][?k=v&...] */
static void parse_uri(fields *f, const char *uri) {
  const char *p = strstr(uri, "://") + 3;
  /* Like libpq, look for the credentials' '@' up to the first '/': a
   * password may hold '?', '#' or '='. */
  const char *at = memchr(p, '@', strcspn(p, "/"));
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    set(f->user, sizeof(f->user), p, (size_t)((colon ? colon : at) - p));
    if (colon && at > colon + 1) f->password = true;
    p = at + 1;
  }
  const char *end_authority = p + strcspn(p, "/?");
  const char *hosts_end = end_authority;
  /* The port follows the last colon outside an [IPv6] literal. */
  const char *colon = NULL;
  for (const char *q = p; q < hosts_end; q++) {
    if (*q == '[') q += strcspn(q, "]");
    else if (*q == ':') colon = q;
  }
  set(f->host, sizeof(f->host), p, (size_t)((colon ? colon : hosts_end) - p));
  if (colon) set(f->port, sizeof(f->port), colon + 1, (size_t)(hosts_end - colon - 1));
  p = end_authority;
  if (*p == '/') {
    p++;
    size_t n = strcspn(p, "?");
    if (n) set(f->dbname, sizeof(f->dbname), p, n);
    p += n;
  }
  if (*p == '?') p++;
  while (*p) {
    size_t pair = strcspn(p, "&");
    const char *eq = memchr(p, '=', pair);
    if (eq) take(f, p, (size_t)(eq - p), eq + 1, pair - (size_t)(eq - p) - 1);
    p += pair;
    if (*p == '&') p++;
  }
}

static void parse_any(fields *f, const char *text) {
  if (!text) return;
  if (is_uri(text))
    parse_uri(f, text);
  else
    parse_keywords(f, text);
}

/* A description's text follows its reference count. */
typedef struct shared {
  _Atomic unsigned refs;
  char text[];
} shared;

static shared *shared_of(char *text) { return (shared *)(text - offsetof(shared, text)); }

void pw__description_release(char *description) {
  if (!description) return;
  shared *s = shared_of(description);
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) free(s);
}

static char *format(const fields *f) {
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_puts(&b, ""); /* an empty description is "", not NULL */
  const char *names[] = {"host", "port", "dbname", "user", "application_name"};
  const char *values[] = {f->host, f->port, f->dbname, f->user, f->application_name};
  for (int i = 0; i < 5; i++) {
    if (!values[i][0]) continue;
    bool plain = strcspn(values[i], " '\\") == strlen(values[i]);
    /* Pieces rather than printf: this runs on every connect, and a
     * formatted print costs a few hundred instructions a field. */
    if (b.len) pw__buf_puts(&b, " ");
    pw__buf_puts(&b, names[i]);
    pw__buf_puts(&b, "=");
    if (plain) {
      pw__buf_puts(&b, values[i]);
    } else {
      pw__buf_puts(&b, "'");
      for (const char *c = values[i]; *c; c++) {
        if (*c == '\'' || *c == '\\') pw__buf_puts(&b, "\\");
        pw__buf_append(&b, c, 1);
      }
      pw__buf_puts(&b, "'");
    }
  }
  if (f->password) pw__buf_puts(&b, b.len ? " password=***" : "password=***");
  shared *s = b.failed ? NULL : malloc(sizeof(shared) + b.len + 1);
  if (s) {
    atomic_init(&s->refs, 1);
    memcpy(s->text, b.data, b.len + 1);
  }
  pw__buf_free(&b);
  return s ? s->text : NULL;
}

/* The last conninfo redacted, known by a hash of its text (never the text
 * itself, which may hold a password), and its description. A program
 * connects with the same conninfo again and again, and parsing and
 * formatting one costs about 3,000 instructions, most of what poolwatch
 * adds to a connect; hashing it costs a few per 8 bytes, and the memo
 * hands out one more reference to its description, not a copy (a copy
 * and its free cost some 300). Two conninfos with the same length and
 * 64-bit hash would share a description, which is still redacted. The
 * memo is only tried, never waited for: a forked child whose parent was in
 * the middle of it must not hang. */
static struct {
  pw__spinlock lock;
  uint64_t hash;
  size_t length;
  shared *description; /* the memo's own reference; NULL: empty */
} memo;

static bool memo_try_lock(void) {
  return !atomic_flag_test_and_set_explicit(&memo.lock.held, memory_order_acquire);
}

/* Both halves of a 64 x 64-bit product, folded: one multiplication mixes
 * 16 bytes in (as wyhash does), half the instructions of a multiply and
 * shift per 8 bytes, on every connect. */
static uint64_t fold(uint64_t a, uint64_t b) {
  __uint128_t product = (__uint128_t)a * b;
  return (uint64_t)product ^ (uint64_t)(product >> 64);
}

static uint64_t hash_text(const char *text, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  uint64_t words[2] = {0, 0};
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) {
      memcpy(words, text + i, 16);
      h ^= fold(words[0] ^ 0xa0761d6478bd642full, words[1] ^ h ^ 0xe7037ed1a0b428dbull);
    }
    /* The last 16 bytes, overlapping the block before if need be: a copy
     * of a fixed size, where the remainder's took a call to memcpy. */
    memcpy(words, text + n - 16, 16);
  } else {
    for (size_t i = 0; i < n; i++) ((unsigned char *)words)[i] = (unsigned char)text[i];
  }
  return h ^ fold(words[0] ^ 0xa0761d6478bd642full, words[1] ^ h ^ 0xe7037ed1a0b428dbull);
}

char *pw__redact_conninfo(const char *conninfo) {
  size_t n = conninfo ? strlen(conninfo) : 0;
  uint64_t hash = conninfo ? hash_text(conninfo, n) : 0;
  shared *known = NULL;
  if (conninfo && memo_try_lock()) {
    if (memo.description && memo.length == n && memo.hash == hash) {
      known = memo.description;
      atomic_fetch_add_explicit(&known->refs, 1, memory_order_relaxed);
    }
    pw__spin_unlock(&memo.lock);
  }
  if (known) return known->text;

  fields f = {0};
  parse_any(&f, conninfo);
  char *description = format(&f);
  if (conninfo && description && memo_try_lock()) {
    shared *replaced = memo.description;
    memo.description = shared_of(description);
    atomic_fetch_add_explicit(&memo.description->refs, 1, memory_order_relaxed);
    memo.hash = hash;
    memo.length = n;
    pw__spin_unlock(&memo.lock);
    if (replaced) pw__description_release(replaced->text);
  }
  return description;
}

char *pw__redact_params(const char *const *keywords, const char *const *values,
                        int expand_dbname) {
  fields f = {0};
  for (int i = 0; keywords && keywords[i]; i++) {
    const char *v = values ? values[i] : NULL;
    if (!v || !*v) continue; /* libpq ignores empty values too */
    if (strcmp(keywords[i], "dbname") == 0 && expand_dbname &&
        (is_uri(v) || strchr(v, '=')))
      parse_any(&f, v);
    else
      take(&f, keywords[i], strlen(keywords[i]), v, strlen(v));
  }
  return format(&f);
}

char *pw__redact_login(const char *host, const char *port, const char *dbname,
                       const char *user, const char *password) {
  fields f = {0};
  if (dbname && (is_uri(dbname) || strchr(dbname, '=')))
    parse_any(&f, dbname);
  else if (dbname)
    set(f.dbname, sizeof(f.dbname), dbname, strlen(dbname));
  if (host && *host) set(f.host, sizeof(f.host), host, strlen(host));
  if (port && *port) set(f.port, sizeof(f.port), port, strlen(port));
  if (user && *user) set(f.user, sizeof(f.user), user, strlen(user));
  if (password && *password) f.password = true;
  return format(&f);
}

/* Skips a secret's value: quoted ('...' or "..." with backslash escapes,
 * as libpq and JSON write them), or up to the next separator. After '='
 * only a space or a URI's '&' ends it: "Pwd=a;b" hides all of "a;b" and
 * what follows, since hiding too much is safe and a password may hold ';'.
 * After JSON's ':' an unquoted value (a number) ends at ',' or '}'. */
static const char *skip_value(const char *p, bool json) {
  if (*p == '\'' || *p == '"') {
    char quote = *p;
    for (p++; *p && *p != quote; p++)
      if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
  }
  return p + strcspn(p, json ? " \t,}" : " \t&");
}

/* Names under which programs pass passwords: libpq's keyword, and the
 * spellings of ODBC ("pwd"), MySQL-style tools ("passwd") and JSON configs
 * ({"password": "..."}). */
static size_t secret_keyword(const char *text, const char *p) {
  static const char *const names[] = {"password", "passwd", "pwd"};
  /* "PGPASSWORD=" is a password, but the shorter names must start a word
   * ("DB_PWD=" is one, "cwd=/tmp" is not). */
  bool word_start = p == text || !isalnum((unsigned char)p[-1]);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    size_t n = strlen(names[i]);
    if ((i == 0 || word_start) && strncasecmp(p, names[i], n) == 0 &&
        !isalnum((unsigned char)p[n]) && p[n] != '_')
      return n;
  }
  return 0;
}

char *pw__redact_text(const char *text) {
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_puts(&b, "");
  const char *p = text;
  while (*p) {
    size_t keyword = secret_keyword(text, p);
    if (keyword) {
      const char *q = p + keyword;
      if (*q == '"' || *q == '\'') q++; /* the closing quote of a JSON key */
      while (*q == ' ') q++;
      if (*q == '=' || *q == ':') {
        bool json = *q == ':';
        q++;
        while (*q == ' ') q++;
        pw__buf_append(&b, p, (size_t)(q - p));
        pw__buf_puts(&b, "***");
        p = skip_value(q, json);
        continue;
      }
    }
    if (strncmp(p, "://", 3) == 0) {
      const char *authority = p + 3;
      const char *at = memchr(authority, '@', strcspn(authority, "/ "));
      const char *colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
      if (colon) {
        pw__buf_append(&b, p, (size_t)(colon + 1 - p));
        pw__buf_puts(&b, "***");
        p = at;
        continue;
      }
    }
    pw__buf_append(&b, p, 1);
    p++;
  }
  if (b.failed) {
    pw__buf_free(&b);
    return NULL;
  }
  return b.data;
}

bool pw__redact_option_takes_secret(const char *arg) {
  /* "mysql --password VALUE" and "-W VALUE" put the secret in the next
   * argument, where no keyword marks it. psql's -W takes no value, but the
   * argument after it is hidden anyway: a name wrongly hidden costs less
   * than a password shown. */
  static const char *const options[] = {"--password", "--passwd", "--pwd", "-W"};
  for (size_t i = 0; arg && i < sizeof(options) / sizeof(options[0]); i++)
    if (strcmp(arg, options[i]) == 0) return true;
  return false;
}

/* Connection descriptions for reports, with secrets removed. Only host,
 * port, dbname, user and application_name are kept; a password, wherever it was given,
 * shows as password=*** and never reaches any output. */
#ifndef POOLWATCH_REDACT_H
#define POOLWATCH_REDACT_H

#include <stdbool.h>

/* Each returns a description, NULL when out of memory. A description may
 * be shared (a connect with the conninfo of the last one gets the same
 * text): it is never written, and is given back with
 * pw__description_release, never free. */

/* From a conninfo string ("host=x password='y'") or a URI
 * ("postgresql://user:secret@host/db?password=z"). */
char *pw__redact_conninfo(const char *conninfo);
/* From PQconnectdbParams' keyword and value arrays; with EXPAND_DBNAME a
 * dbname value may itself be a conninfo string or URI. */
char *pw__redact_params(const char *const *keywords, const char *const *values,
                        int expand_dbname);
/* From PQsetdbLogin's arguments (dbname may be a conninfo string too). */
char *pw__redact_login(const char *host, const char *port, const char *dbname,
                       const char *user, const char *password);
void pw__description_release(char *description);

/* Any text that may hold a connection string (a command-line argument, a
 * pool's name): the value of every password, passwd or pwd keyword (with
 * = or :, quoted or not, so JSON's "password": "x" too) and the password of
 * every scheme://user:password@ become ***; the rest is kept as is. */
char *pw__redact_text(const char *text);
/* Whether the argument after ARG is a secret (--password VALUE, -W VALUE),
 * to be shown as *** whatever it holds. */
bool pw__redact_option_takes_secret(const char *arg);

#endif

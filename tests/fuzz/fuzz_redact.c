/* libFuzzer harness for redaction: conninfo strings, URIs, keyword arrays,
 * PQsetdbLogin arguments and free text (argv, pool names). Beyond never
 * crashing, a password given as password=VALUE with a plain value must not
 * come out of the text redactor. (The fuzzer's first two "leaks" were the
 * property's: the value repeated later in the input, or spelled inside the
 * keyword itself; both inputs are in the seed corpus.) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

#define MAX_PARTS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  pw__description_release(pw__redact_conninfo(text));
  char *safe = pw__redact_text(text);
  /* "password=VALUE" at the start with a plain VALUE of 6+ letters: the
   * value is gone. */
  if (safe && strncmp(text, "password=", 9) == 0) {
    size_t n = strspn(text + 9, "abcdefghijklmnopqrstuvwxyz");
    if (n >= 6) {
      char value[64];
      snprintf(value, sizeof(value), "%.*s", (int)(n < 63 ? n : 63), text + 9);
      /* Unless the same letters occur again later in the input. */
      /* Looked for after the keyword ("password=ssword" has it in its
       * own name), unless the input repeats it later. */
      if (strncmp(safe, "password=", 9) == 0 && strstr(safe + 9, value) &&
          !strstr(text + 9 + n, value)) {
        fprintf(stderr, "password '%s' survived in '%s'\n", value, safe);
        abort();
      }
    }
  }
  free(safe);
  pw__redact_option_takes_secret(text);

  /* The same bytes as \x01-separated parts: keyword/value pairs for
   * PQconnectdbParams, and PQsetdbLogin's five arguments. */
  char *parts[MAX_PARTS + 1] = {0};
  int n = 0;
  for (char *p = text; p && n < MAX_PARTS; n++) {
    parts[n] = p;
    p = strchr(p, '\x01');
    if (p) *p++ = '\0';
  }
  const char *keywords[MAX_PARTS / 2 + 1] = {0}, *values[MAX_PARTS / 2 + 1] = {0};
  for (int i = 0; i + 1 < n; i += 2) {
    keywords[i / 2] = parts[i];
    values[i / 2] = parts[i + 1];
  }
  pw__description_release(pw__redact_params(keywords, values, 1));
  pw__description_release(pw__redact_params(keywords, values, 0));
  pw__description_release(pw__redact_login(parts[0], parts[1], parts[2], parts[3], parts[4]));
  free(text);
  return 0;
}

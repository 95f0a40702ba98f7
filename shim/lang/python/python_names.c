/* Strings of Python frames, read straight from str objects, and the
 * module each .py file is shown in. */
#define Py_BUILD_CORE 1
#include <Python.h>

#include <string.h>
#include "core/source_walk.h"
#include "lang/python/python_names.h"

/* Appends code point C to OUT as UTF-8, if it fits. */
static size_t put_utf8(char *out, size_t at, size_t size, Py_UCS4 c) {
  unsigned char b[4];
  size_t n;
  if (c < 0x80) {
    b[0] = (unsigned char)c;
    n = 1;
  } else if (c < 0x800) {
    b[0] = (unsigned char)(0xC0 | (c >> 6));
    b[1] = (unsigned char)(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    b[0] = (unsigned char)(0xE0 | (c >> 12));
    b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    b[2] = (unsigned char)(0x80 | (c & 0x3F));
    n = 3;
  } else {
    b[0] = (unsigned char)(0xF0 | (c >> 18));
    b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (c & 0x3F));
    n = 4;
  }
  if (at + n >= size) return at;
  memcpy(out + at, b, n);
  return at + n;
}

void pw__python_string(const PyObject *text, char *out, size_t size) {
  PyObject *s = (PyObject *)text;
  if (size < 2) return;
  /* Every str the compiler makes is compact and ready; anything else
   * (a legacy str, a corrupt pointer's type) is not read. */
  if (!s || !PyUnicode_Check(s) || !PyUnicode_IS_READY(s) || !PyUnicode_IS_COMPACT(s)) {
    strcpy(out, "?");
    return;
  }
  Py_ssize_t length = PyUnicode_GET_LENGTH(s);
  if (PyUnicode_IS_ASCII(s)) {
    size_t n = (size_t)length < size - 1 ? (size_t)length : size - 1;
    memcpy(out, PyUnicode_DATA(s), n);
    out[n] = '\0';
    return;
  }
  int kind = PyUnicode_KIND(s);
  const void *data = PyUnicode_DATA(s);
  size_t at = 0;
  for (Py_ssize_t i = 0; i < length && at + 1 < size; i++)
    at = put_utf8(out, at, size, PyUnicode_READ(kind, data, i));
  out[at] = '\0';
}

void pw__python_module(const char *file, const char *interpreter, char *out, size_t size) {
  static const char *const roots[] = {"/site-packages/", "/dist-packages/"};
  pw__source_module(file, roots, sizeof(roots) / sizeof(roots[0]), interpreter, out, size);
}

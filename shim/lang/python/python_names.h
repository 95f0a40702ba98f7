/* The text of a Python frame: strings read out of the interpreter's objects
 * without its help, and the module a .py file belongs to. */
#ifndef POOLWATCH_PYTHON_NAMES_H
#define POOLWATCH_PYTHON_NAMES_H

#include <stddef.h>

typedef struct _object PyObject;

/* Copies the str object TEXT into OUT as UTF-8 (cut to SIZE), or "?" when
 * it is not a ready str. Reads the object only: no GIL, no allocation. */
void pw__python_string(const PyObject *text, char *out, size_t size);
/* The module of a frame in FILE: the top-level package directory (or
 * single-file module) under site-packages or dist-packages, else
 * INTERPRETER, the program that runs it. */
void pw__python_module(const char *file, const char *interpreter, char *out, size_t size);

#endif

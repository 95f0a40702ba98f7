/* poolwatch._sqlalchemy: the hot path of SQLAlchemy's tracking
 * (poolwatch/sqlalchemy_pool.py), in C.
 *
 * A checkout+checkin pair costs a plain interpreter about 47,000
 * instructions; a wrapper written in Python around Pool.connect and a
 * checkin event listener added about 10,000 to it (their frames, and
 * SQLAlchemy's dispatch of the event), a cost no Python code can shed.
 * These two methods take the place of Pool.connect and
 * _ConnectionRecord.checkin: each calls SQLAlchemy's own method and tells
 * the shim through poolwatch.h, reading and writing the same attributes of
 * the connection record as the Python side.
 *
 * Built against the stable ABI (abi3), so any CPython 3.10 or later can
 * import it. Without libpoolwatch.so in the process, poolwatch.h's calls
 * are no-ops, and sitecustomize does not import this module then anyway. */
#define Py_LIMITED_API 0x030A0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "poolwatch.h"

/* Set once by install(); they live as long as the process. */
static PyObject *original_connect, *original_checkin, *pool_state, *timeout_error;
/* Set by stop(), once the census is taken: what SQLAlchemy does after it
 * (returning what the program left out, as the interpreter frees it) is
 * the shutdown's doing, not the program's. */
static bool stopped;
/* Attribute names, interned once: the pool's "_poolwatch" holds its
 * handle in the shim as an int (None until declared), a connection
 * record's "_poolwatch" its Record (None until its connection opened).
 * The Python side sets both defaults on the classes, so reading them never
 * raises, and no object's __dict__ is asked for (in CPython 3.11 that
 * slows down every later attribute read on the object). */
static PyObject *name_poolwatch, *name_record;

/* What poolwatch keeps for one of SQLAlchemy's connection records (one
 * pooled connection): the C methods read it as a struct, the Python side's
 * listeners as attributes. */
typedef struct record {
  PyObject_HEAD
  unsigned long long pool, conn; /* the handles in the shim; 0: none */
  char out;                      /* the program holds the connection */
  char in_transaction;           /* the reset listener saw one open */
  unsigned long long closed;     /* closed while out: told at checkin */
  char standalone;               /* of a pool used without an engine */
  char dbapi_use;                /* the program holds the DBAPI connection */
} record;

static PyTypeObject *record_type;

static PyMemberDef record_members[] = {
    {"pool", T_ULONGLONG, offsetof(record, pool), 0, NULL},
    {"conn", T_ULONGLONG, offsetof(record, conn), 0, NULL},
    {"out", T_BOOL, offsetof(record, out), 0, NULL},
    {"in_transaction", T_BOOL, offsetof(record, in_transaction), 0, NULL},
    {"closed", T_ULONGLONG, offsetof(record, closed), 0, NULL},
    {"standalone", T_BOOL, offsetof(record, standalone), 0, NULL},
    {"dbapi_use", T_BOOL, offsetof(record, dbapi_use), 0, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot record_slots[] = {
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_members, record_members},
    {Py_tp_doc, "What poolwatch keeps for a connection record."},
    {0, NULL}};

static PyType_Spec record_spec = {"poolwatch._sqlalchemy.Record", sizeof(record), 0,
                                  Py_TPFLAGS_DEFAULT, record_slots};

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* OBJECT.NAME (a new reference), or NULL with no error set: a failure
 * here must not become the program's. */
static PyObject *get(PyObject *object, PyObject *name) {
  PyObject *value = PyObject_GetAttr(object, name);
  if (!value) PyErr_Clear();
  return value;
}

/* The address held by the int VALUE (NULL for anything else), and drops
 * the reference to VALUE. */
static void *address(PyObject *value) {
  void *p = value && PyLong_Check(value) ? PyLong_AsVoidPtr(value) : NULL;
  if (!p && PyErr_Occurred()) PyErr_Clear();
  Py_XDECREF(value);
  return p;
}

/* POOL's handle: the pool's own attribute, else declared by the Python
 * side's pool_state(pool) on first use. */
static pw_pool *pool_handle(PyObject *pool) {
  PyObject *handle = get(pool, name_poolwatch);
  if (handle == Py_None) {
    Py_DECREF(handle);
    handle = PyObject_CallFunctionObjArgs(pool_state, pool, NULL);
    if (!handle) PyErr_Clear();
  }
  return address(handle);
}

/* The Record of the connection record OBJECT (a new reference), or NULL. */
static record *record_of(PyObject *object) {
  PyObject *state = get(object, name_poolwatch);
  if (state && Py_IS_TYPE(state, record_type)) return (record *)state;
  Py_XDECREF(state);
  return NULL;
}

/* Pool.connect(self): SQLAlchemy's, timed, then the checkout told to the
 * shim, which takes the program's stack from there. QueuePool's
 * TimeoutError is a failed checkout (pool_exhausted). */
static PyObject *connect(PyObject *pool, PyObject *unused) {
  if (stopped) return PyObject_CallFunctionObjArgs(original_connect, pool, NULL);
  pw_pool *handle = pool_handle(pool);
  double start = seconds_now();
  PyObject *fairy = PyObject_CallFunctionObjArgs(original_connect, pool, NULL);
  if (!fairy) {
    if (handle && PyErr_ExceptionMatches(timeout_error))
      pw_checkout_waited(handle, NULL, seconds_now() - start);
    return NULL;
  }
  if (!handle) return fairy;
  PyObject *connection_record = get(fairy, name_record);
  record *r = connection_record ? record_of(connection_record) : NULL;
  if (r && r->conn) {
    r->out = 1;
    pw_checkout_waited(handle, (void *)(uintptr_t)r->conn, seconds_now() - start);
  }
  Py_XDECREF(r);
  Py_XDECREF(connection_record);
  return fairy;
}

/* What a checkin event listener would do: a connection the program held
 * goes back, told before SQLAlchemy hands it to the next caller; with a
 * transaction open when the reset listener saw one, and closed when it was
 * invalidated while out. */
static void tell_checkin(PyObject *connection_record) {
  record *r = record_of(connection_record);
  if (!r) return;
  if (r->out) {
    pw_pool *pool = (pw_pool *)(uintptr_t)r->pool;
    pw_checkin(pool, (void *)(uintptr_t)r->conn, r->in_transaction);
    if (r->closed) pw_conn_closed(pool, (void *)(uintptr_t)r->closed);
    r->out = r->in_transaction = 0;
    r->closed = 0;
  }
  Py_DECREF(r);
}

/* Calls FUNCTION(SELF, *ARGS, **KWNAMES) the way a method call passes
 * them. */
static PyObject *call_method(PyObject *function, PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames) {
  if (nargs == 0 && !kwnames) return PyObject_CallFunctionObjArgs(function, self, NULL);
  PyObject *positional = PyTuple_New(nargs + 1);
  PyObject *keywords = kwnames ? PyDict_New() : NULL;
  PyObject *result = NULL;
  if (!positional || (kwnames && !keywords)) goto done;
  Py_INCREF(self);
  PyTuple_SetItem(positional, 0, self);
  for (Py_ssize_t i = 0; i < nargs; i++) {
    Py_INCREF(args[i]);
    PyTuple_SetItem(positional, i + 1, args[i]);
  }
  for (Py_ssize_t i = 0; kwnames && i < PyTuple_Size(kwnames); i++)
    if (PyDict_SetItem(keywords, PyTuple_GetItem(kwnames, i), args[nargs + i]) < 0) goto done;
  result = PyObject_Call(function, positional, keywords);
done:
  Py_XDECREF(positional);
  Py_XDECREF(keywords);
  return result;
}

/* _ConnectionRecord.checkin(self, ...), with SQLAlchemy's own arguments. */
static PyObject *checkin(PyObject *connection_record, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
  if (!stopped) tell_checkin(connection_record);
  return call_method(original_checkin, connection_record, args, nargs, kwnames);
}

static PyMethodDef connect_def = {"connect", connect, METH_NOARGS,
                                  "Pool.connect(), tracked by poolwatch."};
static PyMethodDef checkin_def = {"checkin", (PyCFunction)(void (*)(void))checkin,
                                  METH_FASTCALL | METH_KEYWORDS,
                                  "_ConnectionRecord.checkin(), tracked by poolwatch."};

static PyObject *interned(const char *text) { return PyUnicode_InternFromString(text); }

/* install(Pool, _ConnectionRecord, pool_state, TimeoutError): puts the two
 * methods in place of the classes' own, which they call. */
static PyObject *install(PyObject *module, PyObject *args) {
  PyObject *pool_class, *record_class, *state, *timeout;
  if (!PyArg_ParseTuple(args, "O!O!OO:install", &PyType_Type, &pool_class, &PyType_Type,
                        &record_class, &state, &timeout))
    return NULL;
  if (original_connect) {
    PyErr_SetString(PyExc_RuntimeError, "SQLAlchemy's pools are tracked already");
    return NULL;
  }
  PyObject *connect_original = PyObject_GetAttrString(pool_class, "connect");
  PyObject *checkin_original = PyObject_GetAttrString(record_class, "checkin");
  PyObject *connect_method = PyDescr_NewMethod((PyTypeObject *)pool_class, &connect_def);
  PyObject *checkin_method = PyDescr_NewMethod((PyTypeObject *)record_class, &checkin_def);
  bool ok = connect_original && checkin_original && connect_method && checkin_method &&
            PyObject_SetAttrString(pool_class, "connect", connect_method) == 0 &&
            PyObject_SetAttrString(record_class, "checkin", checkin_method) == 0;
  Py_XDECREF(connect_method);
  Py_XDECREF(checkin_method);
  if (!ok) {
    Py_XDECREF(connect_original);
    Py_XDECREF(checkin_original);
    return NULL;
  }
  original_connect = connect_original;
  original_checkin = checkin_original;
  Py_INCREF(state);
  pool_state = state;
  Py_INCREF(timeout);
  timeout_error = timeout;
  Py_RETURN_NONE;
}

static PyObject *stop(PyObject *module, PyObject *unused) {
  stopped = true;
  Py_RETURN_NONE;
}

static PyMethodDef functions[] = {
    {"install", install, METH_VARARGS,
     "install(Pool, _ConnectionRecord, pool_state, TimeoutError)"},
    {"stop", stop, METH_NOARGS, "stop(): the census is taken; tell the shim nothing more."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "poolwatch._sqlalchemy",
                                        "SQLAlchemy's checkout and checkin, tracked in C.", -1,
                                        functions, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__sqlalchemy(void) {
  if (!(name_poolwatch = interned("_poolwatch")) ||
      !(name_record = interned("_connection_record")) ||
      !(record_type = (PyTypeObject *)PyType_FromSpec(&record_spec)))
    return NULL;
  PyObject *module = PyModule_Create(&module_def);
  if (module && PyModule_AddObject(module, "Record", (PyObject *)record_type) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  /* The module holds one reference; this one stays with RECORD_TYPE. */
  Py_INCREF(record_type);
  return module;
}

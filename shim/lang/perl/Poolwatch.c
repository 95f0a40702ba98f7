/* The native half of poolwatch's Perl support: Poolwatch::API's functions,
 * each passing its arguments on to one of poolwatch.h's pw_v1_* entry
 * points. Written as XS by hand (no xsubpp needed), built by CMake against
 * the perl that builds poolwatch, and loaded by XSLoader from beside
 * Poolwatch.pm: nothing is compiled when a program runs.
 *
 * The entry points are found with dlsym when the module is loaded: they
 * exist only when libpoolwatch.so is preloaded, and every function here is
 * a no-op (returning 0) when they do not. */
#include <EXTERN.h>
#include <perl.h>
#include <XSUB.h>

#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

static void *(*declare_kind)(const char *kind, const char *name, int size, int max_size);
static void (*checkout_waited)(void *pool, const void *conn, double seconds);
static void (*checkin)(void *pool, const void *conn, int in_transaction);
static void (*conn_opened)(void *pool, const void *conn, int ok);
static void (*conn_closed)(void *pool, const void *conn);
static long (*census)(void);
static void (*source_hide)(const char *path_prefix);

static void *address(SV *value) { return SvOK(value) ? INT2PTR(void *, SvUV(value)) : NULL; }

XS(xs_available) {
  dXSARGS;
  PERL_UNUSED_VAR(items);
  XSRETURN_IV(declare_kind && checkout_waited && checkin && conn_opened && conn_closed && census &&
              source_hide);
}

XS(xs_declare) {
  dXSARGS;
  if (items != 4) croak_xs_usage(cv, "kind, name, size, max_size");
  void *pool = declare_kind ? declare_kind(SvPV_nolen(ST(0)), SvPV_nolen(ST(1)), (int)SvIV(ST(2)),
                                           (int)SvIV(ST(3)))
                            : NULL;
  XSRETURN_UV(PTR2UV(pool));
}

XS(xs_checkout_waited) {
  dXSARGS;
  if (items != 3) croak_xs_usage(cv, "pool, conn, seconds");
  if (checkout_waited) checkout_waited(address(ST(0)), address(ST(1)), SvNV(ST(2)));
  XSRETURN_EMPTY;
}

XS(xs_checkin) {
  dXSARGS;
  if (items != 3) croak_xs_usage(cv, "pool, conn, in_transaction");
  if (checkin) checkin(address(ST(0)), address(ST(1)), SvTRUE(ST(2)) ? 1 : 0);
  XSRETURN_EMPTY;
}

XS(xs_conn_opened) {
  dXSARGS;
  if (items != 2) croak_xs_usage(cv, "pool, conn");
  if (conn_opened) conn_opened(address(ST(0)), address(ST(1)), 1);
  XSRETURN_EMPTY;
}

XS(xs_conn_closed) {
  dXSARGS;
  if (items != 2) croak_xs_usage(cv, "pool, conn");
  if (conn_closed) conn_closed(address(ST(0)), address(ST(1)));
  XSRETURN_EMPTY;
}

XS(xs_source_hide) {
  dXSARGS;
  if (items != 1) croak_xs_usage(cv, "path_prefix");
  if (source_hide) source_hide(SvPV_nolen(ST(0)));
  XSRETURN_EMPTY;
}

XS(xs_census) {
  dXSARGS;
  PERL_UNUSED_VAR(items);
  XSRETURN_IV(census ? census() : 0);
}

/* ---- DBD::Pg's PGconn ------------------------------------------------------
 * A pool's connection is best identified by its PGconn, which the shim
 * already tracks: telling it the PGconn a pool holds moves that connection
 * into the pool, so an idle cached connection is not a libpq leak. DBD::Pg
 * keeps it in the handle's private data (imp_dbh, DBI's '~' magic), at an
 * offset that changes between versions and is in no installed header. It
 * is found by its content: the word of imp_dbh that, read as a PGconn, has
 * the handle's socket and backend pid (pg_socket, pg_pid). A word is only
 * read as a PGconn when the bytes libpq reads from it are mapped, which
 * process_vm_readv checks by failing instead of faulting. */
#define PGCONN_BYTES 4096

static int (*pq_socket)(const void *conn);
static int (*pq_backend_pid)(const void *conn);

static int readable(const void *at, size_t size) {
  static char sink[PGCONN_BYTES];
  struct iovec local = {sink, size}, remote = {(void *)at, size};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)size;
}

/* The private data of DBI handle H: the inner handle's '~' magic. */
static const char *imp_data(pTHX_ SV *h, STRLEN *size) {
  if (!SvROK(h)) return NULL;
  SV *handle = SvRV(h);
  MAGIC *mg = SvMAGICAL(handle) ? mg_find(handle, '~') : NULL;
  if (!mg) { /* an outer handle: tied to the inner one */
    MAGIC *tie = SvMAGICAL(handle) ? mg_find(handle, PERL_MAGIC_tied) : NULL;
    SV *inner = tie && tie->mg_obj && SvROK(tie->mg_obj) ? SvRV(tie->mg_obj) : NULL;
    mg = inner && SvMAGICAL(inner) ? mg_find(inner, '~') : NULL;
  }
  /* DBI sets the length of this buffer but not its POK flag. */
  if (!mg || !mg->mg_obj || SvTYPE(mg->mg_obj) < SVt_PV || !SvPVX(mg->mg_obj)) return NULL;
  *size = SvCUR(mg->mg_obj);
  return SvPVX(mg->mg_obj);
}

/* libpq, found when first needed: DBD::Pg's Pg.so brings it in with
 * local scope, so it is looked for by name too (RTLD_NOLOAD: a libpq not
 * already in the process is never loaded here). */
static int find_libpq(void) {
  if (pq_socket && pq_backend_pid) return 1;
  void *libpq = dlopen("libpq.so.5", RTLD_LAZY | RTLD_NOLOAD);
  void *scope = libpq ? libpq : RTLD_DEFAULT;
  pq_socket = (int (*)(const void *))dlsym(scope, "PQsocket");
  pq_backend_pid = (int (*)(const void *))dlsym(scope, "PQbackendPID");
  return pq_socket && pq_backend_pid;
}

XS(xs_pgconn_of) {
  dXSARGS;
  if (items != 3) croak_xs_usage(cv, "dbh, socket, backend_pid");
  IV socket = SvIV(ST(1)), pid = SvIV(ST(2));
  STRLEN size = 0;
  const char *imp = imp_data(aTHX_ ST(0), &size);
  UV found = 0;
  for (STRLEN at = 0; imp && find_libpq() && socket >= 0 && pid > 0 &&
                      at + sizeof(void *) <= size && !found;
       at += sizeof(void *)) {
    const void *word = *(const void *const *)(imp + at);
    if (word && ((uintptr_t)word % sizeof(void *)) == 0 && readable(word, PGCONN_BYTES) &&
        pq_socket(word) == socket && pq_backend_pid(word) == pid)
      found = PTR2UV(word);
  }
  XSRETURN_UV(found);
}

XS_EXTERNAL(boot_Poolwatch);
XS_EXTERNAL(boot_Poolwatch) {
  dXSBOOTARGSAPIVERCHK;
  PERL_UNUSED_VAR(items);
  declare_kind = (void *(*)(const char *, const char *, int, int))dlsym(RTLD_DEFAULT, "pw_v1_pool_declare_kind");
  checkout_waited = (void (*)(void *, const void *, double))dlsym(RTLD_DEFAULT, "pw_v1_checkout_waited");
  checkin = (void (*)(void *, const void *, int))dlsym(RTLD_DEFAULT, "pw_v1_checkin");
  conn_opened = (void (*)(void *, const void *, int))dlsym(RTLD_DEFAULT, "pw_v1_conn_opened");
  conn_closed = (void (*)(void *, const void *))dlsym(RTLD_DEFAULT, "pw_v1_conn_closed");
  census = (long (*)(void))dlsym(RTLD_DEFAULT, "pw_v1_census");
  source_hide = (void (*)(const char *))dlsym(RTLD_DEFAULT, "pw_v1_source_hide");
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::available", xs_available);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::declare", xs_declare);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::checkout_waited", xs_checkout_waited);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::checkin", xs_checkin);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::conn_opened", xs_conn_opened);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::conn_closed", xs_conn_closed);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::census", xs_census);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::source_hide", xs_source_hide);
  Perl_newXS_deffile(aTHX_ "Poolwatch::API::pgconn_of", xs_pgconn_of);
  Perl_xs_boot_epilog(aTHX_ ax);
}

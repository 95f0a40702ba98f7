/* SARIF 2.1.0 for code scanning: one rule per leak and finding kind, one
 * result per leak group and finding, located at the first frame of the
 * user's own code, with the whole stack as a code flow. */
#include <stdlib.h>
#include <string.h>

#include "ci_location.h"
#include "common/buf.h"
#include "report_ci.h"
#include "report_load.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define ROOT_ID "SRCROOT"
#define FINGERPRINT_KEY "poolwatchGroup/v1"

/* Percent-encodes PATH for a URI: everything but RFC 3986's unreserved
 * characters and '/' (a file named "my report.c" becomes "my%20report.c"). */
static void uri_path(pw__buf *b, const char *path) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~/", *p))
      pw__buf_append(b, (const char *)p, 1);
    else
      pw__buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
  }
}

static json_t *buf_string(pw__buf *b) {
  json_t *s = b->failed ? NULL : json_string(b->data ? b->data : "");
  pw__buf_free(b);
  return s;
}

/* artifactLocation of PATH: relative to the source root (with uriBaseId)
 * when it lies under it, else an absolute file: URI. */
static json_t *artifact_location(const char *path, const char *root) {
  const char *relative = ci_relative_path(path, root);
  pw__buf uri;
  pw__buf_init(&uri);
  json_t *loc = json_object();
  if (relative != path) {
    uri_path(&uri, relative);
    json_object_set_new(loc, "uriBaseId", json_string(ROOT_ID));
  } else {
    if (path[0] == '/') pw__buf_puts(&uri, "file://");
    uri_path(&uri, path);
  }
  json_object_set_new(loc, "uri", buf_string(&uri));
  return loc;
}

/* The frame as every text output words it (common/format.c), one line
 * without its newline. */
static char *frame_text(const json_t *frame, size_t index) {
  pw__frame f = report_frame(frame);
  pw__buf b;
  pw__buf_init(&b);
  pw__format_frame(&b, "", index, &f);
  if (b.failed) {
    pw__buf_free(&b);
    return NULL;
  }
  if (b.len && b.data[b.len - 1] == '\n') b.data[--b.len] = '\0';
  return b.data;
}

/* A location object for FRAME: its file and line, or its module when it
 * has no debug info, and its function as a logical location. */
static json_t *frame_location(const json_t *frame, const char *root, const char *message) {
  const char *file = report_string(frame, "file");
  const char *module = report_string(frame, "module");
  const char *function = report_string(frame, "function");
  long long line = report_int(frame, "line", 0);
  json_t *loc = json_object();
  const char *where = file ? file : module;
  if (where) {
    json_t *physical = json_object();
    json_object_set_new(physical, "artifactLocation", artifact_location(where, root));
    if (file && line > 0) json_object_set_new(physical, "region", json_pack("{s:I}", "startLine", (json_int_t)line));
    json_object_set_new(loc, "physicalLocation", physical);
  }
  if (function)
    json_object_set_new(loc, "logicalLocations",
                        json_pack("[{s:s, s:s}]", "fullyQualifiedName", function, "kind", "function"));
  if (message) json_object_set_new(loc, "message", json_pack("{s:s}", "text", message));
  return loc;
}

/* The stack as a thread flow, outermost call first as code flows read;
 * the user's frame is marked essential and library frames unimportant. */
static json_t *code_flow(const json_t *stack, const char *root, const char *label) {
  json_t *steps = json_array();
  long user = ci_user_frame(stack);
  for (size_t n = json_array_size(stack); n-- > 0;) {
    const json_t *frame = json_array_get(stack, n);
    char *text = frame_text(frame, n);
    json_t *step = json_pack("{s:o, s:s}", "location", frame_location(frame, root, text),
                             "importance", (long)n == user ? "essential" : "unimportant");
    free(text);
    if (step) json_array_append_new(steps, step);
  }
  return json_pack("{s:{s:s}, s:[{s:o}]}", "message", "text", label, "threadFlows", "locations", steps);
}

/* The same stack in SARIF's own stack form, innermost frame first. */
static json_t *stack_object(const json_t *stack, const char *root, const char *label) {
  json_t *frames = json_array();
  size_t i;
  json_t *frame;
  json_array_foreach(stack, i, frame) {
    json_t *f = json_pack("{s:o}", "location", frame_location(frame, root, NULL));
    const char *module = report_string(frame, "module");
    if (module) json_object_set_new(f, "module", json_string(module));
    json_array_append_new(frames, f);
  }
  return json_pack("{s:{s:s}, s:o}", "message", "text", label, "frames", frames);
}

static json_t *rule_object(const ci_rule *rule, bool leak) {
  json_t *r = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:[s,s], s:s, s:s}}",
                        "id", rule->id, "name", rule->name, "shortDescription", "text",
                        rule->short_text, "fullDescription", "text", rule->help, "help", "text",
                        rule->help, "defaultConfiguration", "level", leak ? "error" : "warning",
                        "properties", "tags", "reliability", "database", "precision", "high",
                        "problem.severity", leak ? "error" : "warning");
  return r;
}

/* Rules for every known kind, and one more for each kind a newer report
 * names; returns the index of KIND's rule in RULES. */
static size_t rule_index(json_t *rules, const char *kind, bool leak) {
  const ci_rule *known = ci_rule_for(kind, leak);
  pw__buf id;
  pw__buf_init(&id);
  pw__buf_printf(&id, "%s%s", leak ? "leaked_" : "", kind ? kind : "unknown");
  const char *want = known ? known->id : id.data ? id.data : "unknown";
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    if (strcmp(report_string(rule, "id"), want) == 0) {
      pw__buf_free(&id);
      return i;
    }
  }
  ci_rule made = {want, "Unknown", "A kind of finding this version of poolwatch does not describe.",
                  "A kind of finding this version of poolwatch does not describe; see the "
                  "poolwatch version that wrote the report."};
  json_array_append_new(rules, rule_object(&made, leak));
  pw__buf_free(&id);
  return json_array_size(rules) - 1;
}

static void append_pids(pw__buf *b, const json_t *pids) {
  size_t n = json_array_size(pids), i;
  json_t *pid;
  if (!n) return;
  pw__buf_puts(b, n == 1 ? " in process " : " in processes ");
  json_array_foreach(pids, i, pid) {
    if (i == 8 && n > 9) {
      pw__buf_printf(b, " and %zu more", n - i);
      break;
    }
    pw__buf_printf(b, "%s%lld", i ? ", " : "", (long long)json_integer_value(pid));
  }
}

/* "2 connections leaked from pool libpq (oldest 8.5 s), opened at
 * open_report_connection (report.c:42)". */
static char *leak_message(const json_t *g, const json_t *at) {
  const char *kind = report_string(g, "kind");
  bool checkout = kind && strcmp(kind, "checkout") == 0;
  long long count = report_int(g, "count", 0);
  const char *pool = report_string(g, "pool");
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_printf(&b, "%lld %s%s leaked from pool %s", count, checkout ? "checkout" : "connection",
                 count == 1 ? "" : "s", pool ? pool : "?");
  json_t *age = json_object_get(g, "oldest_age_s");
  if (json_is_number(age)) pw__buf_printf(&b, " (oldest %.3g s)", json_number_value(age));
  append_pids(&b, json_object_get(g, "pids"));
  char *where = at ? ci_frame_brief(at, true) : NULL;
  if (where) pw__buf_printf(&b, ", %s at %s", checkout ? "checked out" : "opened", where);
  free(where);
  pw__buf_puts(&b, ".");
  return b.failed ? (pw__buf_free(&b), NULL) : b.data;
}

static char *finding_message(const json_t *g, const json_t *at) {
  const char *kind = report_string(g, "kind");
  const char *pool = report_string(g, "pool");
  const char *detail = report_string(g, "detail");
  long long count = report_int(g, "count", 0);
  pw__buf b;
  pw__buf_init(&b);
  pw__buf_printf(&b, "%s in pool %s (%lld time%s)", kind ? kind : "?", pool ? pool : "?", count,
                 count == 1 ? "" : "s");
  append_pids(&b, json_object_get(g, "pids"));
  if (detail && *detail) pw__buf_printf(&b, ": %s", detail);
  char *where = at ? ci_frame_brief(at, true) : NULL;
  if (where) pw__buf_printf(&b, ", at %s", where);
  free(where);
  pw__buf_puts(&b, ".");
  return b.failed ? (pw__buf_free(&b), NULL) : b.data;
}

static const char *other_label(const char *kind) {
  if (kind && strcmp(kind, "double_finish") == 0) return "first finished at";
  if (kind && strcmp(kind, "double_checkin") == 0) return "previously checked out at";
  return "checked out at";
}

static json_t *result_object(json_t *rules, const json_t *g, bool leak, bool suppressed,
                             const char *root, const char *program) {
  const char *kind = report_string(g, "kind");
  const json_t *stack = json_object_get(g, "stack");
  const json_t *frame = ci_group_frame(g);
  char *message = leak ? leak_message(g, frame) : finding_message(g, frame);
  size_t index = rule_index(rules, kind, leak);
  char fingerprint[17];
  ci_group_fingerprint(g, fingerprint);
  const char *label = leak ? (kind && strcmp(kind, "checkout") == 0 ? "checked out at" : "opened at") : "at";

  json_t *r = json_pack("{s:O, s:I, s:s, s:{s:s}, s:{s:s}}", "ruleId",
                        json_object_get(json_array_get(rules, index), "id"), "ruleIndex",
                        (json_int_t)index, "level", leak ? "error" : "warning", "message", "text",
                        message ? message : "?", "partialFingerprints", FINGERPRINT_KEY, fingerprint);
  free(message);
  if (!r) return NULL;
  json_t *locations = json_array();
  if (frame) {
    json_array_append_new(locations, frame_location(frame, root, NULL));
  } else {
    /* A finding without a stack (pool_not_closed: found at exit) belongs
     * to the program; code scanning needs a file for every result. */
    json_t *stand_in = json_pack("{s:s}", "module", program ? program : "unknown");
    json_array_append_new(locations, frame_location(stand_in, root, "no stack: the program"));
    json_decref(stand_in);
  }
  json_object_set_new(r, "locations", locations);

  json_t *flows = json_array(), *stacks = json_array(), *related = json_array();
  if (json_array_size(stack)) {
    json_array_append_new(flows, code_flow(stack, root, label));
    json_array_append_new(stacks, stack_object(stack, root, label));
  }
  const json_t *other = json_object_get(g, "other_stack");
  if (json_array_size(other)) {
    json_array_append_new(flows, code_flow(other, root, other_label(kind)));
    json_array_append_new(stacks, stack_object(other, root, other_label(kind)));
    long o = ci_user_frame(other);
    json_array_append_new(related, frame_location(json_array_get(other, (size_t)o), root, other_label(kind)));
  }
  size_t i;
  json_t *holder;
  json_array_foreach(json_object_get(g, "holders"), i, holder) {
    const json_t *hs = json_object_get(holder, "stack");
    if (!json_array_size(hs)) continue;
    pw__buf text;
    pw__buf_init(&text);
    pw__buf_printf(&text, "%lld held, checked out at", report_int(holder, "count", 1));
    const char *t = text.data ? text.data : "held";
    json_array_append_new(flows, code_flow(hs, root, t));
    json_array_append_new(stacks, stack_object(hs, root, t));
    json_array_append_new(related, frame_location(json_array_get(hs, (size_t)ci_user_frame(hs)), root, t));
    pw__buf_free(&text);
  }
  /* Related locations are numbered, as SARIF asks of locations referred to. */
  json_t *loc;
  json_array_foreach(related, i, loc) json_object_set_new(loc, "id", json_integer((json_int_t)i));
  if (json_array_size(flows)) json_object_set(r, "codeFlows", flows);
  if (json_array_size(stacks)) json_object_set(r, "stacks", stacks);
  if (json_array_size(related)) json_object_set(r, "relatedLocations", related);
  json_decref(flows);
  json_decref(stacks);
  json_decref(related);

  json_t *props = json_pack("{s:I}", "count", (json_int_t)report_int(g, "count", 0));
  const char *pool = report_string(g, "pool");
  if (pool) json_object_set_new(props, "pool", json_string(pool));
  json_t *pids = json_object_get(g, "pids");
  if (json_is_array(pids)) json_object_set(props, "pids", pids);
  json_t *age = json_object_get(g, "oldest_age_s");
  if (json_is_number(age)) json_object_set(props, "oldestAgeSeconds", age);
  json_object_set_new(r, "properties", props);
  if (suppressed)
    json_object_set_new(r, "suppressions",
                        json_pack("[{s:s, s:s, s:s}]", "kind", "external", "status", "accepted",
                                  "justification",
                                  "matched a leak: pattern of the suppressions file "
                                  "(POOLWATCH_SUPPRESSIONS)"));
  return r;
}

/* The program of the group's first process. */
static const char *program_of(const json_t *merged, const json_t *pids) {
  json_t *pid = json_array_get(pids, 0);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(merged, "processes"), i, p) {
    if (pid && json_equal(json_object_get(p, "pid"), pid)) return report_string(p, "program");
  }
  return NULL;
}

static json_t *sarif_document(const json_t *merged, const char *root) {
  json_t *rules = json_array();
  for (size_t i = 0; i < ci_rule_count; i++)
    json_array_append_new(rules, rule_object(&ci_rules[i], strncmp(ci_rules[i].id, "leaked_", 7) == 0));
  json_t *results = json_array();
  static const struct {
    const char *key;
    bool leak, suppressed;
  } lists[] = {{"leaks", true, false}, {"findings", false, false}, {"suppressed_leaks", true, true}};
  for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(merged, lists[l].key), i, g) {
      json_t *r = result_object(rules, g, lists[l].leak, lists[l].suppressed, root,
                                program_of(merged, json_object_get(g, "pids")));
      if (r) json_array_append_new(results, r);
    }
  }
  json_t *driver = json_pack("{s:s, s:s, s:s, s:o}", "name", "poolwatch", "version", POOLWATCH_VERSION,
                             "semanticVersion", POOLWATCH_VERSION, "rules", rules);
  json_t *run = json_pack("{s:{s:o}, s:o, s:[{s:b}]}", "tool", "driver", driver, "results", results,
                          "invocations", "executionSuccessful", 1);
  if (run && root && *root) {
    pw__buf uri;
    pw__buf_init(&uri);
    pw__buf_puts(&uri, "file://");
    uri_path(&uri, root);
    if (!uri.data || uri.data[uri.len - 1] != '/') pw__buf_puts(&uri, "/");
    json_object_set_new(run, "originalUriBaseIds",
                        json_pack("{s:{s:o}}", ROOT_ID, "uri", buf_string(&uri)));
  }
  return json_pack("{s:s, s:s, s:[o]}", "$schema", SARIF_SCHEMA, "version", "2.1.0", "runs", run);
}

bool report_write_sarif(FILE *out, const json_t *merged, const char *source_root) {
  json_t *doc = sarif_document(merged, source_root);
  if (!doc) return false;
  bool ok = json_dumpf(doc, out, JSON_INDENT(2)) == 0 && fputs("\n", out) != EOF;
  json_decref(doc);
  return ok;
}

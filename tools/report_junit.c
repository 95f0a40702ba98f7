/* JUnit XML for test dashboards (GitLab, Jenkins, Azure): a test case per
 * process, passing when it left no leaks, and one failing test case per
 * leak group and finding, whose failure carries the stack. Suppressed
 * leak groups are skipped test cases. A clean run is all passes. */
#include <stdlib.h>
#include <string.h>

#include "ci_location.h"
#include "report_ci.h"
#include "report_load.h"

/* Writes S as XML character data or attribute text. Characters XML 1.0
 * cannot hold at all (control characters other than tab and newlines)
 * become '?'; the text is UTF-8 already, since reports are. */
static void xml_text(FILE *out, const char *s) {
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
      case '&': fputs("&amp;", out); break;
      case '<': fputs("&lt;", out); break;
      case '>': fputs("&gt;", out); break;
      case '"': fputs("&quot;", out); break;
      case '\n': fputs("&#10;", out); break;
      case '\t': fputs("&#9;", out); break;
      case '\r': fputs("&#13;", out); break;
      default: fputc(*p < 0x20 ? '?' : *p, out);
    }
  }
}

/* Character data keeps its newlines, so a stack reads as lines. */
static void xml_body(FILE *out, const char *s) {
  for (const char *p = s ? s : ""; *p; p++) {
    if (*p == '\n')
      fputc('\n', out);
    else {
      char one[2] = {*p, 0};
      xml_text(out, one);
    }
  }
}

static void stack_text(FILE *out, const json_t *stack, const char *indent) {
  size_t i;
  json_t *frame;
  if (!json_array_size(stack)) fprintf(out, "%s(no stack)\n", indent);
  json_array_foreach(stack, i, frame) {
    const char *function = report_string(frame, "function");
    const char *file = report_string(frame, "file");
    const char *module = report_string(frame, "module");
    const char *offset = report_string(frame, "offset");
    long long line = report_int(frame, "line", 0);
    fprintf(out, "%s#%zu ", indent, i);
    xml_text(out, function ? function : "??");
    if (file) {
      fputc(' ', out);
      xml_text(out, file);
      if (line > 0) fprintf(out, ":%lld", line);
    }
    if (module || offset) {
      fputs(" (", out);
      xml_text(out, module ? module : "??");
      if (offset) {
        fputc('+', out);
        xml_text(out, offset);
      }
      fputc(')', out);
    }
    fputc('\n', out);
  }
}

static bool process_leaked(const json_t *p) {
  const json_t *s = json_object_get(p, "summary");
  return report_int(s, "leaked_connections", 0) + report_int(s, "leaked_checkouts", 0) > 0;
}

static void process_case(FILE *out, const json_t *p) {
  const json_t *s = json_object_get(p, "summary");
  const char *program = report_string(p, "program");
  fputs("    <testcase classname=\"poolwatch.process\" name=\"", out);
  xml_text(out, program ? program : "?");
  fputs("\" time=\"0\"", out);
  long long connections = report_int(s, "leaked_connections", 0);
  long long checkouts = report_int(s, "leaked_checkouts", 0);
  fprintf(out, ">\n");
  if (process_leaked(p)) {
    fprintf(out,
            "      <failure type=\"leaks\" message=\"%lld leaked connections, %lld leaked "
            "checkouts in %lld groups\">",
            connections, checkouts, report_int(s, "leak_groups", 0));
    fprintf(out, "process %lld left leaks; each group is a test case of its own.\n",
            report_int(p, "pid", -1));
    fputs("</failure>\n", out);
  }
  fprintf(out, "      <system-out>pid %lld: %lld leaked connections, %lld leaked checkouts, "
               "%lld findings, %lld suppressed",
          report_int(p, "pid", -1), connections, checkouts, report_int(s, "findings", 0),
          report_int(s, "suppressed", 0));
  const char *file = report_string(p, "file");
  if (file) {
    fputs("; report ", out);
    xml_text(out, file);
  }
  fputs("</system-out>\n    </testcase>\n", out);
}

/* A group's test case is named for its kind, pool and the function and
 * file of the user's code, with its fingerprint, so that names are unique
 * and stay the same from run to run and across edits that move lines
 * (dashboards follow a test by its name). */
static void group_case(FILE *out, const json_t *g, bool leak, bool suppressed) {
  const char *kind = report_string(g, "kind");
  const char *pool = report_string(g, "pool");
  const json_t *stack = json_object_get(g, "stack");
  const json_t *frame = ci_group_frame(g);
  char *where = frame ? ci_frame_brief(frame, false) : NULL;
  char fingerprint[17];
  ci_group_fingerprint(g, fingerprint);
  const ci_rule *rule = ci_rule_for(kind, leak);
  long long count = report_int(g, "count", 0);

  fprintf(out, "    <testcase classname=\"poolwatch.%s\" name=\"", leak ? "leak" : "finding");
  fprintf(out, "%s", leak ? "leaked " : "");
  xml_text(out, kind ? kind : "?");
  fputs(" in pool ", out);
  xml_text(out, pool ? pool : "?");
  if (where) {
    fputs(" at ", out);
    xml_text(out, where);
  }
  fprintf(out, " [%s]\" time=\"0\">\n", fingerprint);
  if (suppressed) {
    fputs("      <skipped message=\"suppressed by a leak: pattern\"/>\n", out);
  } else {
    fprintf(out, "      <failure type=\"%s", leak ? "leaked_" : "");
    xml_text(out, kind ? kind : "unknown");
    fputs("\" message=\"", out);
    if (leak) {
      fprintf(out, "%lld %s%s leaked from pool ", count,
              kind && strcmp(kind, "checkout") == 0 ? "checkout" : "connection",
              count == 1 ? "" : "s");
    } else {
      xml_text(out, kind ? kind : "?");
      fprintf(out, " (%lld time%s) in pool ", count, count == 1 ? "" : "s");
    }
    xml_text(out, pool ? pool : "?");
    fputs("\">", out);
    if (rule) {
      xml_text(out, rule->short_text);
      fputc('\n', out);
    }
    const char *detail = report_string(g, "detail");
    if (detail && *detail) {
      xml_body(out, detail);
      fputc('\n', out);
    }
    fputs(leak ? (kind && strcmp(kind, "checkout") == 0 ? "checked out at:\n" : "opened at:\n")
               : "at:\n",
          out);
    stack_text(out, stack, "  ");
    const json_t *other = json_object_get(g, "other_stack");
    if (json_array_size(other)) {
      fputs("second stack:\n", out);
      stack_text(out, other, "  ");
    }
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(g, "holders"), i, h) {
      fprintf(out, "%lld held, checked out at:\n", report_int(h, "count", 1));
      stack_text(out, json_object_get(h, "stack"), "  ");
    }
    fputs("</failure>\n", out);
  }
  fputs("    </testcase>\n", out);
  free(where);
}

bool report_write_junit(FILE *out, const json_t *merged) {
  const json_t *processes = json_object_get(merged, "processes");
  const json_t *leaks = json_object_get(merged, "leaks");
  const json_t *findings = json_object_get(merged, "findings");
  const json_t *suppressed = json_object_get(merged, "suppressed_leaks");
  size_t tests = json_array_size(processes) + json_array_size(leaks) + json_array_size(findings) +
                 json_array_size(suppressed);
  size_t failures = json_array_size(leaks) + json_array_size(findings);
  size_t i;
  json_t *x;
  json_array_foreach(processes, i, x) failures += process_leaked(x);

  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
  fprintf(out, "<testsuites name=\"poolwatch\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"0\">\n",
          tests, failures);
  fprintf(out,
          "  <testsuite name=\"poolwatch\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
          "skipped=\"%zu\" time=\"0\">\n",
          tests, failures, json_array_size(suppressed));
  json_array_foreach(processes, i, x) process_case(out, x);
  json_array_foreach(leaks, i, x) group_case(out, x, true, false);
  json_array_foreach(findings, i, x) group_case(out, x, false, false);
  json_array_foreach(suppressed, i, x) group_case(out, x, true, true);
  fputs("  </testsuite>\n</testsuites>\n", out);
  return !ferror(out);
}

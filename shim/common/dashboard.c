/* The dashboard seed (poolwatch-PID.dashboard.json) and the panels it lists. */
#include "common/dashboard.h"

#include "common/json_writer.h"

/* "TITLE (POOL)" for a pool's panel, "TITLE" otherwise. */
static void put_title(pw__json_writer *w, const char *title, const char *pool) {
  if (pool)
    pw__json_put_stringf(w, "title", "%s (%s)", title, pool);
  else
    pw__json_put_string(w, "title", title);
}

const pw__dashboard_panel pw__dashboard_panels[] = {
  {"Pool Connections", {"pool.checkedout", "pool.checkedin"}},
  {"Pool Wait Time", {"pool.wait_time"}},
  {"Pool Size and Overflow", {"pool.size", "pool.overflow"}},
  {"Pool Leaks", {"pool.leaked_connections", "pool.leaked_checkouts"}},
};
const size_t pw__dashboard_panel_count =
    sizeof(pw__dashboard_panels) / sizeof(pw__dashboard_panels[0]);

static void simple_panel_json(pw__json_writer *w, const pw__dashboard_panel *p, const char *pool) {
  pw__json_open_inline_object(w, NULL);
  put_title(w, p->title, pool);
  pw__json_put_string(w, "type", "graph");
  pw__json_open_inline_array(w, "metrics");
  for (size_t i = 0; i < 3 && p->metrics[i]; i++) pw__json_put_string(w, NULL, p->metrics[i]);
  pw__json_close_array(w);
  if (pool) pw__json_put_string(w, "pool", pool);
  pw__json_close_object(w);
}

void pw__dashboard_simple(pw__buf *out, const char *const *pool_names, size_t n_pools) {
  pw__json_writer w = pw__json_writer_for(out);
  pw__json_open_object(&w, NULL);
  pw__json_put_string(&w, "dashboard_name", PW__DASHBOARD_NAME);
  pw__json_open_array(&w, "panels");
  if (n_pools == 0) {
    for (size_t i = 0; i < pw__dashboard_panel_count; i++)
      simple_panel_json(&w, &pw__dashboard_panels[i], NULL);
  }
  for (size_t pool = 0; pool < n_pools; pool++) {
    for (size_t i = 0; i < pw__dashboard_panel_count; i++)
      simple_panel_json(&w, &pw__dashboard_panels[i], pool_names[pool]);
  }
  pw__json_close_array(&w);
  pw__json_close_object(&w);
}

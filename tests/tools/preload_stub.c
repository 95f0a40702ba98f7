/* An empty library for `poolwatch run` to preload in tests of the command
 * itself, so they exercise its environment, status and report handling
 * without depending on the real library's behaviour. */
void poolwatch_test_preload_stub(void) {}

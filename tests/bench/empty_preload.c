/* An empty library, preloaded beside the shim's rows in the start-up
 * benchmark: what mapping any preloaded library costs a process, the part
 * of the shim's start-up cost that is not its own. */
void pwbench_empty_preload(void) {}

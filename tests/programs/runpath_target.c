/* The library runpath_loader opens by bare name (see runpath_loader.c). */
int runpath_target_answer(void) { return 42; }

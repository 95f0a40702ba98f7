/* A statically linked program: the dynamic loader never runs for it, so
 * LD_PRELOAD cannot load the library and no report can appear. `poolwatch
 * run` must say so and fail, even though the program itself succeeds. */
int main(void) { return 0; }

/* `poolwatch top`, the live view of a process running with POOLWATCH_LIVE=1. */
#ifndef POOLWATCH_CMD_TOP_H
#define POOLWATCH_CMD_TOP_H

int cmd_top(int argc, char **argv);

#endif

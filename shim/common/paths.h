/* Where poolwatch's files are, for the shim that writes them and the
 * command that reads them. */
#ifndef POOLWATCH_PATHS_H
#define POOLWATCH_PATHS_H

/* The live state of a running process, poolwatch-PID.live.json: in
 * shared memory, so a refresh every interval never touches a disk. */
#define PW__LIVE_DIR "/dev/shm"
#define PW__LIVE_FILE "poolwatch-%d.live.json" /* of a pid */

#endif

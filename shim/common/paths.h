/* Where poolwatch's files are, for the shim that writes them and the
 * command that reads them. */
#ifndef POOLWATCH_PATHS_H
#define POOLWATCH_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The live state of a running process, poolwatch-PID.live.json: in
 * shared memory, so a refresh every interval never touches a disk, inside
 * a directory private to the process's user, poolwatch-UID (mode 0700).
 * Directly in /dev/shm, another local user could plant a process's file
 * (`poolwatch top` showed the fake data) or its temporary name (the
 * process stopped publishing). */
#define PW__LIVE_ROOT "/dev/shm"
#define PW__LIVE_FILE "poolwatch-%d.live.json" /* of a pid */

/* PW__LIVE_ROOT/poolwatch-UID. */
void pw__live_dir_path(uid_t uid, char *out, size_t cap);

/* Opens UID's live directory, creating it (mode 0700) when CREATE, without
 * following a link, and only if it is a directory that belongs to UID and
 * no one else can enter. Returns a descriptor (close-on-exec) or -1, with
 * the reason in WHY. */
int pw__live_dir_open(uid_t uid, bool create, char *why, size_t cap);

#endif

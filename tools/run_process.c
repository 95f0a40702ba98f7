/* Running the program under `poolwatch run`: started with its own status
 * kept, and termination requests passed on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

/* The program's pid while it runs, for forwarding termination requests. */
static volatile sig_atomic_t running_child;

static void forward_signal(int sig) {
  if (running_child > 0) kill((pid_t)running_child, sig);
}

/* Runs the program and returns its exit status as a shell reports it, or
 * -1 (after a message) when it could not be started; *EXEC_ERRNO then says
 * why. *KILLED_BY is the signal that killed it, if one did. While it runs, Ctrl-C and Ctrl-\ reach it (it shares the terminal's
 * process group) but not `run`, which must still read the reports; a
 * SIGTERM or SIGHUP sent to `run` is passed on to it. */
int run_program(char **program, int *exec_errno, int *killed_by) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    cli_error("cannot run %s: %s", program[0], strerror(errno));
    return -1;
  }
  struct sigaction ignore = {.sa_handler = SIG_IGN}, forward = {.sa_handler = forward_signal};
  struct sigaction old_int, old_quit, old_term, old_hup;
  sigemptyset(&ignore.sa_mask);
  sigemptyset(&forward.sa_mask);
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  sigaction(SIGTERM, &forward, &old_term);
  sigaction(SIGHUP, &forward, &old_hup);
  fflush(NULL);

  pid_t pid = fork();
  if (pid == 0) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    close(pipe_fds[0]);
    execvp(program[0], program);
    int err = errno;
    ssize_t ignored = write(pipe_fds[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  int status = -1;
  if (pid < 0) {
    cli_error("cannot run %s: %s", program[0], strerror(errno));
    close(pipe_fds[0]);
  } else {
    running_child = pid;
    close(pipe_fds[1]);
    pipe_fds[1] = -1;
    int err = 0;
    ssize_t n;
    while ((n = read(pipe_fds[0], &err, sizeof(err))) < 0 && errno == EINTR) {
    }
    close(pipe_fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    running_child = 0;
    if (n == (ssize_t)sizeof(err)) {
      *exec_errno = err;
      cli_error("cannot run %s: %s", program[0], strerror(err));
    } else if (WIFEXITED(wstatus)) {
      status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
      status = 128 + WTERMSIG(wstatus);
      *killed_by = WTERMSIG(wstatus);
      cli_error("%s was killed by signal %d (%s)", program[0], WTERMSIG(wstatus),
                strsignal(WTERMSIG(wstatus)));
    }
  }
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  return status;
}

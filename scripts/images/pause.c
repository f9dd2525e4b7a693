/*
 * The pause process of the test node's pod sandboxes (the "pause image" containerd starts
 * first in every pod, built by scripts/build-images.sh because this machine has no image
 * registry). It holds the pod's namespaces open, reaps the zombies it inherits as PID 1 of a
 * shared PID namespace, and exits 0 on SIGINT or SIGTERM. Static, no dependencies.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("hangar-pause 1");
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = stop;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return 1;
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGCHLD, &sa, NULL) != 0) return 1;
  if (getpid() != 1) fprintf(stderr, "hangar-pause: running as pid %d, not 1\n", (int)getpid());
  for (;;) pause();
}

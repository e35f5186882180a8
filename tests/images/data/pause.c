/* A pause program for the image tests: sleeps until SIGINT or SIGTERM, then exits 0. */
#include <signal.h>
#include <unistd.h>

static void stop(int signal_number) {
  (void)signal_number;
  _exit(0);
}

int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  for (;;) {
    pause();
  }
}

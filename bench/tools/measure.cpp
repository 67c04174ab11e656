// kfc-bench-measure: runs a command and writes what it cost, for bench/run.sh:
//
//   kfc-bench-measure --out run.tsv [--stdout FILE] -- kaspersky-feeds-connector run --once --dry-run
//
// --stdout sends the command's standard output to FILE (e.g. /dev/null for the dry run's objects).
// run.tsv: spawn_us (wall clock just before the process was created, µs since the epoch), wall_s,
// cpu_s (user + system of the process and its waited-for children), user_s, sys_s, maxrss_kb, exit.
// The command's own exit status is returned.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  std::string stdout_file;
  int first = 1;
  for (; first < argc; ++first) {
    const std::string arg = argv[first];
    if (arg == "--out" && first + 1 < argc) {
      out = argv[++first];
    } else if (arg == "--stdout" && first + 1 < argc) {
      stdout_file = argv[++first];
    } else if (arg == "--") {
      ++first;
      break;
    } else {
      break;
    }
  }
  if (first >= argc || out.empty()) {
    std::cerr << "usage: kfc-bench-measure --out FILE [--stdout FILE] -- COMMAND [ARGS...]\n";
    return 2;
  }
  const auto spawn = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child < 0) {
    std::perror("kfc-bench-measure: fork");
    return 2;
  }
  if (child == 0) {
    if (!stdout_file.empty()) {
      const int fd = open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
        std::perror("kfc-bench-measure: --stdout");
        _exit(127);
      }
      close(fd);
    }
    execvp(argv[first], argv + first);
    std::perror("kfc-bench-measure: exec");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(child, &status, 0, &usage) < 0) {
    std::perror("kfc-bench-measure: wait4");
    return 2;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ofstream file(out);
  file << "spawn_us\t" << std::chrono::duration_cast<std::chrono::microseconds>(spawn.time_since_epoch()).count() << "\n"
       << "wall_s\t" << wall << "\n"
       << "cpu_s\t" << seconds(usage.ru_utime) + seconds(usage.ru_stime) << "\n"
       << "user_s\t" << seconds(usage.ru_utime) << "\n"
       << "sys_s\t" << seconds(usage.ru_stime) << "\n"
       << "maxrss_kb\t" << usage.ru_maxrss << "\n"
       << "exit\t" << exit_code << "\n";
  return exit_code;
}

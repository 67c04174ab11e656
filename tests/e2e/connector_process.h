#pragma once
// Runs the real connector binary for end-to-end tests: a clean environment (only what the test
// passes), its own working directory (so no stray config.yml is read), stdout and stderr captured
// to files, signals on demand.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kfc/fixtures/wait_until.h"

namespace kfc::e2e {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class ConnectorProcess {
 public:
  ConnectorProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                   std::filesystem::path directory, const std::string& label = "run")
      : out_path_(directory / (label + ".stdout")), err_path_(directory / (label + ".stderr")) {
    std::vector<std::string> argv_text{KFC_CONNECTOR_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<std::string> env_text;
    for (const auto& [key, value] : env) env_text.push_back(key + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string dir = directory.string(), out = out_path_.string(), err = err_path_.string();
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out_fd < 0 || err_fd < 0) ::_exit(126);
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }

  ~ConnectorProcess() {
    if (!exit_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  ConnectorProcess(const ConnectorProcess&) = delete;
  ConnectorProcess& operator=(const ConnectorProcess&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }

  // The exit status (128 + signal when killed by one), or nullopt when still running at the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (exit_) return exit_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Polls stderr (logs) until it contains `needle` (false at once when the process ended without it).
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    fixtures::wait_until([&] { return err().find(needle) != std::string::npos || wait(std::chrono::milliseconds(0)); },
                         timeout, std::chrono::milliseconds(20));
    return err().find(needle) != std::string::npos;
  }

  std::string out() const { return read_text(out_path_); }
  std::string err() const { return read_text(err_path_); }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_;
};

}  // namespace kfc::e2e

#include "kfc/config/pem.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace kfc {
namespace {

// The temporary files written for PEM text, removed at exit: a private key must not outlive the process.
class PemFiles {
 public:
  ~PemFiles() {
    for (const auto& [text, path] : paths_) ::unlink(path.c_str());
  }

  std::string path_for(const std::string& text, std::string_view key) {
    std::lock_guard lock(mutex_);
    if (auto it = paths_.find(text); it != paths_.end()) return it->second;
    std::string path = (std::filesystem::temp_directory_path() / "kfc-mq-tls-XXXXXX").string();
    const int fd = ::mkstemp(path.data());  // mode 0600
    if (fd < 0) throw std::runtime_error(write_error(key, path));
    const bool written = write_all(fd, text) && ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!written) {
      ::unlink(path.c_str());
      errno = saved_errno;
      throw std::runtime_error(write_error(key, path));
    }
    paths_.emplace(text, path);
    return path;
  }

 private:
  static bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(fd, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  static std::string write_error(std::string_view key, const std::string& path) {
    return fmt::format("cannot write the PEM text of {} to a temporary file {}: {} — set TMPDIR to a writable "
                       "directory or give {} as a file path",
                       key, path, std::strerror(errno), key);
  }

  std::mutex mutex_;
  std::map<std::string, std::string> paths_;
};

PemFiles& pem_files() {
  static PemFiles files;
  return files;
}

}  // namespace

bool is_pem_text(std::string_view value) {
  const auto first = value.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && value.substr(first).starts_with("-----BEGIN");
}

std::string pem_file_path(const std::string& path_or_pem, std::string_view key) {
  if (!is_pem_text(path_or_pem)) return path_or_pem;
  return pem_files().path_for(path_or_pem, key);
}

}  // namespace kfc

#include "kfc/runner/state_stores.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace kfc::runner {
namespace {

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_all(int fd, const std::string& data, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

void fsync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename itself is atomic
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

FileStateStore::FileStateStore(std::filesystem::path path) : path_(std::move(path)) {}

std::expected<ConnectorState, std::string> FileStateStore::load() {
  std::error_code error;
  if (!std::filesystem::exists(path_, error)) return ConnectorState{};
  auto text = read_file(path_);
  if (!text) return std::unexpected(text.error() + " (connector.state_file)");
  auto state = parse_state(*text);
  if (!state) {
    return std::unexpected(fmt::format("{} in {} — fix or delete the file (connector.state_file) to start "
                                       "from kaspersky.initial_history", state.error(), path_.string()));
  }
  return state;
}

void FileStateStore::save(const ConnectorState& state) {
  const auto directory = path_.parent_path();
  if (!directory.empty()) std::filesystem::create_directories(directory);
  const auto temporary = std::filesystem::path(path_.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error(fmt::format("cannot write the state file {}: {} (connector.state_file)",
                                         temporary.string(), std::strerror(errno)));
  }
  try {
    write_all(fd, to_json(state) + "\n", temporary);
    if (::fsync(fd) != 0) throw std::runtime_error(fmt::format("cannot sync {}: {}", temporary.string(), std::strerror(errno)));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path_.c_str()) != 0) {
    throw std::runtime_error(fmt::format("cannot replace the state file {}: {}", path_.string(), std::strerror(errno)));
  }
  fsync_directory(directory);
}

std::string FileStateStore::describe() const { return "state file " + path_.string(); }

MemoryStateStore::MemoryStateStore(ConnectorState initial, bool writable)
    : state_(std::move(initial)), writable_(writable) {}

std::expected<ConnectorState, std::string> MemoryStateStore::load() { return state_; }

void MemoryStateStore::save(const ConnectorState& state) {
  if (!writable_) return;
  state_ = state;
  ++saves_;
}

std::string MemoryStateStore::describe() const { return writable_ ? "in-memory state" : "state (not saved)"; }

namespace {
constexpr const char* kReferenceRunKey = "last_added";

// Whole epoch seconds of a JSON number text ("1732752000", "1732752000.5"); nullopt otherwise.
std::optional<std::int64_t> epoch_seconds(const std::string& json_text) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(json_text.data(), json_text.data() + json_text.size(), seconds);
  if (error != std::errc{} || end != json_text.data() + json_text.size() || !(seconds >= 0) || seconds > 253402300799.0) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(seconds);
}
}  // namespace

RunKeyStateStore::RunKeyStateStore(std::unique_ptr<StateStore> inner, std::string run_key)
    : inner_(std::move(inner)), run_key_(std::move(run_key)) {}

std::expected<ConnectorState, std::string> RunKeyStateStore::load() {
  auto state = inner_->load();
  if (!state) return state;
  if (state->last_added) {  // not ours: kept verbatim
    state->other_keys[kReferenceRunKey] = std::to_string(*state->last_added);
    state->last_added.reset();
  }
  if (auto run = state->other_keys.find(run_key_); run != state->other_keys.end()) {
    if (auto seconds = epoch_seconds(run->second)) {
      state->last_added = *seconds;
      state->other_keys.erase(run);
    }
  }
  return state;
}

void RunKeyStateStore::save(const ConnectorState& state) {
  ConnectorState stored = state;
  if (stored.last_added) stored.other_keys[run_key_] = std::to_string(*stored.last_added);
  stored.last_added.reset();
  if (auto kept = stored.other_keys.find(kReferenceRunKey); kept != stored.other_keys.end()) {
    stored.last_added = epoch_seconds(kept->second);
    stored.other_keys.erase(kept);
  }
  inner_->save(stored);
}

PlatformStateStore::PlatformStateStore(std::function<std::string()> read,
                                       std::function<void(const std::string&)> write)
    : read_(std::move(read)), write_(std::move(write)) {}

std::expected<ConnectorState, std::string> PlatformStateStore::load() {
  auto state = parse_state(read_());
  if (!state) {
    return std::unexpected(state.error() +
                           " — press \"Reset state\" on the connector's page in OpenCTI to start from "
                           "kaspersky.initial_history");
  }
  return state;
}

void PlatformStateStore::save(const ConnectorState& state) { write_(to_json(state)); }

std::string PlatformStateStore::describe() const { return "OpenCTI connector state"; }

std::expected<ConnectorState, std::string> state_from_argument(const std::string& argument) {
  const auto first = argument.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && argument[first] == '{') {
    auto state = parse_state(argument);
    if (!state) return std::unexpected("--state: " + state.error());
    return state;
  }
  auto text = read_file(argument);
  if (!text) return std::unexpected("--state: " + text.error());
  auto state = parse_state(*text);
  if (!state) return std::unexpected(fmt::format("--state {}: {}", argument, state.error()));
  return state;
}

}  // namespace kfc::runner

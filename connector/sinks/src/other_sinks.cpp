#include "kfc/sinks/other_sinks.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "json_text.h"
#include "kfc/config/counters.h"
#include "kfc/config/time_format.h"
#include "kfc/sinks/splitter.h"
#include "kfc/stix/python_json.h"

namespace kfc::sinks {

SinkStats& SinkStats::operator+=(const SinkStats& other) {
  return add_counters(*this, other, &SinkStats::bundles, &SinkStats::objects, &SinkStats::messages,
                      &SinkStats::confirmed, &SinkStats::republished, &SinkStats::nacked, &SinkStats::returned,
                      &SinkStats::reconnects, &SinkStats::in_flight, &SinkStats::announcements);
}

namespace {

// Bookkeeping shared by the sinks that confirm synchronously (a bundle is confirmed when send returns).
class SynchronousSink : public Sink {
 public:
  void begin_run(const RunContext& context) override {
    context_ = context;
    confirmed_ = 0;
  }
  Ticket send(const stix::Bundle& bundle) override {
    deliver(bundle);
    return confirm(bundle);
  }
  Ticket confirmed() const override { return confirmed_; }
  void flush() override {}
  void end_run() override {}
  SinkStats stats() const override { return stats_; }

 protected:
  virtual void deliver(const stix::Bundle& bundle) = 0;
  // Counts a delivered bundle as confirmed; its ticket.
  Ticket confirm(const stix::Bundle& bundle) {
    ++stats_.bundles;
    ++stats_.confirmed;
    stats_.objects += bundle.size();
    return ++confirmed_;
  }
  RunContext context_;
  SinkStats stats_;

 private:
  Ticket confirmed_ = 0;
};

class GraphqlSink final : public SynchronousSink {
 public:
  GraphqlSink(opencti::OpenCtiClient& client, std::string connector_id)
      : client_(client), connector_id_(std::move(connector_id)) {}
  std::string describe() const override { return "OpenCTI GraphQL stixBundlePush at " + client_.graphql().url(); }

 private:
  void deliver(const stix::Bundle& bundle) override {
    if (bundle.size() == 0) return;  // the platform refuses empty bundles; nothing to deliver
    try {
      client_.push_bundle(connector_id_, whole_bundle_json(bundle), context_.work_id);
      ++stats_.messages;
    } catch (const TokenError&) {
      throw;  // the run loop reports token problems with their own wording
    } catch (const std::exception& error) {
      throw DeliveryError(std::string("stixBundlePush of ") + bundle.id + " failed: " + error.what());
    }
  }

  opencti::OpenCtiClient& client_;
  std::string connector_id_;
};

std::string utc_stamp(SystemTime time) { return format_time(time, kBasicSecondsFormat); }

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

class DirectorySink final : public SynchronousSink {
 public:
  DirectorySink(std::filesystem::path directory, const Clock& clock, int retention_days)
      : directory_(std::move(directory)), clock_(clock), retention_days_(retention_days) {}
  std::string describe() const override {
    return "directory " + directory_.string() +
           (retention_days_ > 0 ? " (bundle files kept " + std::to_string(retention_days_) + " days)" : "");
  }

  void begin_run(const RunContext& context) override {
    SynchronousSink::begin_run(context);
    run_stamp_ = utc_stamp(clock_.now());
    ++run_serial_;
    ticket_ = 0;
    std::error_code error;
    if (!std::filesystem::is_directory(directory_, error)) {
      throw DeliveryError("output directory " + directory_.string() +
                          " does not exist or is not a directory — create it or fix connector.output_dir");
    }
    remove_expired();
  }

  // The stages of one batch, empty ones skipped, written as one group (README.md: written and synced
  // file by file, renamed, then one sync of the directory); confirmed together once all are durable.
  std::optional<Ticket> send_all(std::span<const stix::Bundle> bundles) override {
    std::vector<const stix::Bundle*> group;
    for (const auto& bundle : bundles) {
      if (bundle.size() > 0) group.push_back(&bundle);
    }
    if (group.empty()) return std::nullopt;
    write_group(group);
    Ticket last = 0;
    for (const stix::Bundle* bundle : group) last = confirm(*bundle);
    return last;
  }

 private:
  struct BundleFile {
    std::string temp_name;   // hidden, while it is written
    std::string final_name;  // once it is whole and synced
  };

  void deliver(const stix::Bundle& bundle) override {
    const stix::Bundle* one[] = {&bundle};
    write_group(one);
  }

  // Every file is synced under its temporary name before any is renamed, and the renames are synced
  // (one directory sync) before the group counts as delivered. On an error no temporary file stays.
  // Files are opened and renamed relative to one descriptor of the directory: no path walk per file.
  void write_group(std::span<const stix::Bundle* const> bundles) {
    if (run_stamp_.empty()) begin_run(context_);
    const FileDescriptor dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) fail_directory("open", errno);
    std::vector<BundleFile> files;
    files.reserve(bundles.size());
    try {
      for (const stix::Bundle* bundle : bundles) {
        files.push_back(next_file(*bundle));
        write_synced(dir.get(), stix::compact_bundle_json_view(*bundle), files.back());
      }
    } catch (...) {
      for (const auto& file : files) ::unlinkat(dir.get(), file.temp_name.c_str(), 0);
      throw;
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (::renameat(dir.get(), files[i].temp_name.c_str(), dir.get(), files[i].final_name.c_str()) == 0) continue;
      const int error = errno;
      for (std::size_t k = i; k < files.size(); ++k) ::unlinkat(dir.get(), files[k].temp_name.c_str(), 0);
      fail(step_error("rename", files[i], error));
    }
    // The renames themselves must survive a crash: sync the directory entries too.
    ::fsync(dir.get());
    stats_.messages += files.size();
  }

  BundleFile next_file(const stix::Bundle& bundle) {
    std::string name = fmt::format("{}-{:04}-{:08}-{}.json", run_stamp_, run_serial_, ++ticket_, bundle.id);
    return {"." + name + ".tmp", std::move(name)};
  }

  std::string step_error(const char* step, const BundleFile& file, int error) const {
    return std::string("cannot ") + step + " " + (directory_ / file.final_name).string() + ": " +
           std::strerror(error) + (error == ENOSPC ? " — the disk is full; free space in connector.output_dir" : "");
  }
  [[noreturn]] static void fail(const std::string& what) {
    throw DeliveryError(what + " (connector.output_dir); the bundle is not counted as delivered");
  }
  [[noreturn]] void fail_directory(const char* step, int error) const {
    throw DeliveryError(std::string("cannot ") + step + " the output directory " + directory_.string() + ": " +
                        std::strerror(error) + " (connector.output_dir); the bundles are not counted as delivered");
  }

  // `text` in the file's temporary name, on disk when this returns. fdatasync, not fsync: POSIX
  // synchronized I/O data integrity (fdatasync) covers the data and the metadata needed to read it
  // back (the size, the blocks), and leaves out only what is not needed for that (times). Neither
  // makes the file's name durable: on Linux that takes a sync of the directory (fsync(2)), which
  // write_group does after the renames. A crash before it leaves at most a whole file under its
  // hidden temporary name, never a partial file under a final name.
  void write_synced(int dir, std::string_view text, const BundleFile& names) {
    FileDescriptor file(::openat(dir, names.temp_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (file.get() < 0) fail(step_error("create", names, errno));
    std::size_t written = 0;
    while (written < text.size()) {
      ssize_t n = ::write(file.get(), text.data() + written, text.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(step_error("write", names, errno));
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fdatasync(file.get()) != 0) fail(step_error("fdatasync", names, errno));
    if (::close(file.release()) != 0) fail(step_error("close", names, errno));
  }

  // connector.send_to_directory_retention, as pycti: bundle files (*.json) last modified more than
  // the retention ago are removed; hidden files (the state, temporary files) and others stay.
  void remove_expired() {
    if (retention_days_ <= 0) return;
    const auto cutoff = std::chrono::system_clock::to_time_t(clock_.now()) - std::time_t{86400} * retention_days_;
    std::error_code error;
    std::size_t removed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with('.') || !name.ends_with(".json") || !entry.is_regular_file(error)) continue;
      struct stat info{};
      if (::stat(entry.path().c_str(), &info) != 0 || info.st_mtime >= cutoff) continue;
      if (std::filesystem::remove(entry.path(), error)) ++removed;
    }
    if (removed > 0) {
      spdlog::info("Removed {} bundle files older than {} days from {}", removed, retention_days_, directory_.string());
    }
  }

  std::filesystem::path directory_;
  const Clock& clock_;
  int retention_days_;
  std::string run_stamp_;
  std::uint64_t run_serial_ = 0;
  std::uint64_t ticket_ = 0;
};

class StdoutSink final : public SynchronousSink {
 public:
  StdoutSink(std::ostream& out, LineWriter write_lines) : out_(out), write_lines_(std::move(write_lines)) {}
  std::string describe() const override { return "standard output (dry run)"; }

 private:
  void deliver(const stix::Bundle& bundle) override {
    write_lines_(bundle, out_);
    out_.flush();
    if (!out_) throw DeliveryError("cannot write the dry-run output to standard output");
    stats_.messages += bundle.size();
  }

  std::ostream& out_;
  LineWriter write_lines_;
};

}  // namespace

void write_compact_lines(const stix::Bundle& bundle, std::ostream& out) {
  // Hook: the run loop passes stix::write_dry_run_lines (Python json.dumps lines) once it is in main.
  for (const auto& object : bundle.objects.GetArray()) out << detail::json_text(object) << '\n';
}

std::unique_ptr<Sink> make_graphql_sink(opencti::OpenCtiClient& client, std::string connector_id) {
  return std::make_unique<GraphqlSink>(client, std::move(connector_id));
}

std::unique_ptr<Sink> make_directory_sink(std::filesystem::path directory, const Clock& clock, int retention_days) {
  return std::make_unique<DirectorySink>(std::move(directory), clock, retention_days);
}

namespace {

// connector.send_to_directory next to OpenCTI: each bundle is written to the directory (synchronously)
// before it goes to the primary sink, whose tickets and confirmations are the run's.
class MirrorSink final : public Sink {
 public:
  MirrorSink(std::unique_ptr<Sink> primary, std::unique_ptr<Sink> mirror)
      : primary_(std::move(primary)), mirror_(std::move(mirror)) {}
  void begin_run(const RunContext& context) override {
    mirror_->begin_run(context);
    primary_->begin_run(context);
  }
  Ticket send(const stix::Bundle& bundle) override {
    mirror_->send(bundle);
    return primary_->send(bundle);
  }
  std::optional<Ticket> send_all(std::span<const stix::Bundle> bundles) override {
    mirror_->send_all(bundles);
    return primary_->send_all(bundles);  // the primary announces its work once for the group
  }
  Ticket confirmed() const override { return primary_->confirmed(); }
  void flush() override { primary_->flush(); }
  void end_run() override {
    mirror_->end_run();
    primary_->end_run();
  }
  SinkStats stats() const override { return primary_->stats(); }
  std::string describe() const override { return primary_->describe() + ", a copy in " + mirror_->describe(); }

 private:
  std::unique_ptr<Sink> primary_;
  std::unique_ptr<Sink> mirror_;
};

}  // namespace

std::unique_ptr<Sink> make_mirror_sink(std::unique_ptr<Sink> primary, std::unique_ptr<Sink> mirror) {
  return std::make_unique<MirrorSink>(std::move(primary), std::move(mirror));
}

std::unique_ptr<Sink> make_stdout_sink(std::ostream& out, LineWriter write_lines) {
  return std::make_unique<StdoutSink>(out, std::move(write_lines));
}

}  // namespace kfc::sinks

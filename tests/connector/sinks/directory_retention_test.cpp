// connector.send_to_directory: bundle files older than the retention are removed, nothing else is;
// with the OpenCTI output every bundle is also written to the directory.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/sinks/factory.h"

namespace kfc::sinks {
namespace {

namespace fs = std::filesystem;

const SystemTime kNow{std::chrono::seconds(1800000000)};

class Directory {
 public:
  Directory() : path_(fs::temp_directory_path() / ("kfc-retention-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(path_);
  }
  ~Directory() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

  // A file last modified `age` before kNow.
  void file(const std::string& name, std::chrono::seconds age) const {
    std::ofstream(path_ / name) << "{}";
    const auto when = std::chrono::system_clock::to_time_t(kNow - age);
    struct timespec times[2] = {{when, 0}, {when, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (path_ / name).c_str(), times, 0), 0);
  }
  bool has(const std::string& name) const { return fs::exists(path_ / name); }
  std::size_t count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator{}));
  }

 private:
  fs::path path_;
};

stix::Bundle one_object_bundle() {
  stix::Bundle bundle;
  bundle.id = "bundle--9d2e0e3e-3c4f-4b1d-9a52-5b8f0a1c7e11";
  auto& a = bundle.objects.GetAllocator();
  rapidjson::Value object(rapidjson::kObjectType);
  object.AddMember("type", "identity", a);
  object.AddMember("id", "identity--04d070e4-451d-54f4-a42e-c64431074504", a);
  bundle.objects.PushBack(object, a);
  return bundle;
}

using namespace std::chrono_literals;

TEST(DirectoryRetention, RemovesOnlyBundleFilesOlderThanTheRetention) {
  Directory dir;
  dir.file("20240101T000000Z-0001-00000001-bundle--old.json", std::chrono::days(8));
  dir.file("20240105T000000Z-0001-00000001-bundle--recent.json", std::chrono::days(6));
  dir.file("just-under.json", std::chrono::days(7) - 60s);
  dir.file("old-notes.txt", std::chrono::days(30));          // not a bundle file
  dir.file(".state.json", std::chrono::days(30));            // the connector's cursor
  dir.file(".pending.json.tmp", std::chrono::days(30));      // a temporary file
  ManualClock clock(kNow);
  auto sink = make_directory_sink(dir.path(), clock, 7);
  sink->begin_run({});
  EXPECT_FALSE(dir.has("20240101T000000Z-0001-00000001-bundle--old.json"));
  EXPECT_TRUE(dir.has("20240105T000000Z-0001-00000001-bundle--recent.json"));
  EXPECT_TRUE(dir.has("just-under.json"));
  EXPECT_TRUE(dir.has("old-notes.txt"));
  EXPECT_TRUE(dir.has(".state.json"));
  EXPECT_TRUE(dir.has(".pending.json.tmp"));
  sink->send(one_object_bundle());
  sink->end_run();
  EXPECT_EQ(dir.count(), 6u);  // five kept + the new bundle
}

TEST(DirectoryRetention, ZeroKeepsEverything) {
  Directory dir;
  dir.file("ancient.json", std::chrono::days(3650));
  ManualClock clock(kNow);
  auto sink = make_directory_sink(dir.path(), clock, 0);
  sink->begin_run({});
  EXPECT_TRUE(dir.has("ancient.json"));
}

TEST(SendToDirectory, TheFactoryMirrorsToTheDirectoryBesideTheMainOutput) {
  Directory out;
  Directory mirror;
  Settings settings;
  settings.connector.output = OutputKind::Directory;  // a synchronous main output stands in for OpenCTI
  settings.connector.output_dir = out.path().string();
  ManualClock clock(kNow);
  SinkEnvironment environment;
  environment.clock = &clock;
  auto main_sink = make_sink(settings, environment);
  auto sink = make_mirror_sink(std::move(main_sink), make_directory_sink(mirror.path(), clock, 7));
  sink->begin_run({});
  const Ticket ticket = sink->send(one_object_bundle());
  sink->flush();
  EXPECT_EQ(sink->confirmed(), ticket);
  sink->end_run();
  EXPECT_EQ(out.count(), 1u);
  EXPECT_EQ(mirror.count(), 1u);
  EXPECT_NE(sink->describe().find(mirror.path().string()), std::string::npos) << sink->describe();
}

}  // namespace
}  // namespace kfc::sinks

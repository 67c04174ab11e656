// Streams generated Kaspersky-shaped feed objects through the connector's data path, the way the run
// loop does: TAXII page text → parse → Mapper::collect → Batcher (transform, stages) →
// serialisation of every stage (compact bundle JSON for sinks, or the dry-run's Python json.dumps
// lines), and reports throughput and peak memory. Run it with 10k and with 100k objects: peak RSS is
// per process and should not grow with the feed.
//
//   bench_mapping [--objects N] [--page N] [--sizing cap|source] [--format compact|python]
//                 [--identity]   (use a pass-through transform instead of the Mapper)
//                 [--output FILE] (also write every serialised stage to FILE, one per line, with a
//                                  fixed clock, so two builds' outputs can be diffed byte for byte;
//                                  only the random bundle ids differ)
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include <rapidjson/document.h>

#include "feed_generator.h"
#include "kfc/config/clock.h"
#include "kfc/batching/batcher.h"
#include "kfc/stix/python_json.h"

#ifdef KFC_BENCH_HAS_MAPPER
#include "kfc/mapping/mapper.h"
#endif

namespace {

struct Options {
  std::size_t objects = 100000;
  std::size_t page = 1000;
  kfc::batching::BundleSizing sizing = kfc::batching::BundleSizing::ClusterCap;
  bool python_format = false;
  bool identity = false;
  std::string output;  // empty: serialised text is only counted
};

bool parse_arguments(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--objects") options.objects = std::stoul(value());
    else if (arg == "--page") options.page = std::stoul(value());
    else if (arg == "--sizing") options.sizing = value() == "source" ? kfc::batching::BundleSizing::SourceBatches
                                                                     : kfc::batching::BundleSizing::ClusterCap;
    else if (arg == "--format") options.python_format = value() == "python";
    else if (arg == "--identity") options.identity = true;
    else if (arg == "--output") options.output = value();
    else {
      std::fprintf(stderr, "usage: %s [--objects N] [--page N] [--sizing cap|source] [--format compact|python] [--identity] [--output FILE]\n",
                   argv[0]);
      return false;
    }
  }
  return options.page > 0;
}

// CPU time of this process: the machine may be shared, so wall time alone says little.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

// The reference with expand_objects=false, minus the finishing: the author, then the feed objects.
void identity_transform(rapidjson::Document& feed_objects, rapidjson::Document& out) {
  out.SetArray();
  auto& allocator = out.GetAllocator();
  rapidjson::Value author(rapidjson::kObjectType);
  author.AddMember("type", "identity", allocator);
  author.AddMember("id", "identity--04d070e4-451d-54f4-a42e-c64431074504", allocator);
  out.PushBack(author, allocator);
  for (const auto& object : feed_objects.GetArray()) {
    rapidjson::Value copy(object, allocator);
    copy.AddMember("created_by_ref", "identity--04d070e4-451d-54f4-a42e-c64431074504", allocator);
    out.PushBack(copy, allocator);
  }
}

// A clock standing still (the mapping only asks for the time; nothing sleeps on it).
class FixedClock final : public kfc::Clock {
 public:
  kfc::SystemTime now() const override { return kfc::SystemTime{std::chrono::seconds{1700000000}}; }
  void sleep_for(kfc::Duration) override {}
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_arguments(argc, argv, options)) return 2;

  // A fixed clock when the output is kept, so the author's and expansions' timestamps repeat.
  const FixedClock fixed_clock{};
  std::ofstream output_file;
  if (!options.output.empty()) {
    output_file.open(options.output, std::ios::binary);
    if (!output_file) {
      std::fprintf(stderr, "cannot write %s\n", options.output.c_str());
      return 2;
    }
  }
#ifdef KFC_BENCH_HAS_MAPPER
  kfc::mapping::Mapper mapper{kfc::mapping::MappingOptions{},
                              options.output.empty() ? static_cast<const kfc::Clock&>(kfc::system_clock())
                                                     : fixed_clock};
  const bool use_mapper = !options.identity;
#else
  const bool use_mapper = false;
#endif

  kfc::batching::TransformFn transform = identity_transform;
  kfc::batching::BeforeStagingFn policy;
#ifdef KFC_BENCH_HAS_MAPPER
  if (use_mapper) {
    transform = [&](rapidjson::Document& in, rapidjson::Document& out) { mapper.transform(in, out, out.GetAllocator()); };
    policy = [&](rapidjson::Document& objects) { mapper.apply_description_policy(objects, nullptr); };
  }
#endif
  kfc::batching::BatcherOptions batcher_options;
  batcher_options.sizing = options.sizing;
  kfc::batching::Batcher batcher(transform, batcher_options, policy);

  kfc::bench::FeedGenerator generator;
  std::size_t batches = 0, stages = 0, output_objects = 0, largest_bundle = 0;
  std::uint64_t output_bytes = 0;
  std::string serialised;
  using Clock = std::chrono::steady_clock;
  Clock::duration generating{}, pipeline{};
  double generating_cpu = 0, pipeline_cpu = 0;

  const auto send = [&](kfc::batching::Batch&& batch) {
    ++batches;
    for (const auto& stage : batch.stages) {
      ++stages;
      output_objects += stage.size();
      largest_bundle = std::max(largest_bundle, stage.size());
      if (options.python_format) {
        serialised.clear();
        for (const auto& object : stage.objects.GetArray()) {
          kfc::stix::append_python_dumps(object, serialised);
          serialised.push_back('\n');
        }
      } else {
        serialised.clear();
        kfc::stix::append_compact_bundle_json(stage, serialised);
      }
      output_bytes += serialised.size();
      if (output_file.is_open()) output_file << serialised << '\n';
    }
  };

  std::size_t remaining = options.objects;
  while (remaining > 0) {
    const std::size_t count = std::min(remaining, options.page);
    remaining -= count;
    std::string collection;
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    const std::string page_text = generator.next_page(count, remaining > 0, collection);
    const auto t1 = Clock::now();
    const double c1 = cpu_seconds();
    rapidjson::Document page;
    page.Parse<rapidjson::kParseFullPrecisionFlag>(page_text.c_str(), page_text.size());
    if (page.HasParseError()) {
      std::fprintf(stderr, "generated page does not parse\n");
      return 1;
    }
    for (auto& object : page["objects"].GetArray()) {
#ifdef KFC_BENCH_HAS_MAPPER
      if (use_mapper) mapper.collect(object, page.GetAllocator(), collection);
#endif
      batcher.push(object);
      while (batcher.has_ready()) send(batcher.take());
    }
    generating += t1 - t0;
    pipeline += Clock::now() - t1;
    generating_cpu += c1 - c0;
    pipeline_cpu += cpu_seconds() - c1;
  }
  const auto t2 = Clock::now();
  const double c2 = cpu_seconds();
  batcher.finish();
  while (batcher.has_ready()) send(batcher.take());
  pipeline += Clock::now() - t2;
  pipeline_cpu += cpu_seconds() - c2;

  const double seconds = pipeline_cpu;
  std::printf(
      "transform=%s sizing=%s format=%s feed_objects=%zu output_objects=%zu batches=%zu stages=%zu "
      "largest_bundle=%zu output_mb=%.1f\n",
      use_mapper ? "mapper" : "identity", options.sizing == kfc::batching::BundleSizing::ClusterCap ? "cap" : "source",
      options.python_format ? "python" : "compact", options.objects, output_objects, batches, stages, largest_bundle,
      static_cast<double>(output_bytes) / 1e6);
  std::printf(
      "pipeline_cpu_s=%.3f pipeline_wall_s=%.3f feed_objects_per_cpu_s=%.0f output_objects_per_cpu_s=%.0f "
      "generator_cpu_s=%.3f peak_rss_mib=%.1f\n",
      seconds, std::chrono::duration<double>(pipeline).count(), static_cast<double>(options.objects) / seconds,
      static_cast<double>(output_objects) / seconds, generating_cpu, static_cast<double>(peak_rss_kib()) / 1024.0);
  return 0;
}

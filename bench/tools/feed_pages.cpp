// kfc-bench-feed: writes a deterministic Kaspersky-shaped feed of N indicators in three collections
// as static TAXII 2.1 pages, for bench/run.sh and kfc-bench-taxii:
//
//   DIR/collections.json            the collections envelope
//   DIR/<collection>/<k>.json       page k (0, 1, …): {"more", "next": "<k+1>", "objects": […]}
//   DIR/<collection>/pages.tsv      k <tab> date_added first <tab> last <tab> objects
//   DIR/feed.tsv                    indicators, pages, bytes (for the report)
//
// Collections: IP reputation (ipv4 patterns), malicious URLs (url, LIKE masks, domain-name) and APT
// hashes (MD5/SHA-1/SHA-256, exploits, publication context with actors, industries and countries),
// every description rich enough that each expansion of the mapping fires. Same size and seed, same
// bytes. Every object of a collection has its own date_added, 1 ms after the previous one.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "feed_generator.h"
#include "kfc/config/time_format.h"

namespace {

namespace fs = std::filesystem;
using Kind = kfc::bench::FeedGenerator::Kind;

struct CollectionPlan {
  const char* id;
  std::vector<Kind> kinds;  // objects cycle through these pattern kinds
};

const CollectionPlan kPlan[] = {
    {"TAXII_IP_Reputation_Data_Feed", {Kind::Ip}},
    {"TAXII_Malicious_URL_Data_Feed", {Kind::Url, Kind::Url, Kind::Domain}},
    {"TAXII_APT_Hash_Data_Feed", {Kind::AptHash, Kind::Hash, Kind::AptHash, Kind::Exploit}},
};

// "2026-04-01T00:00:00.000000Z" plus `millis`.
std::string date_added(std::uint64_t millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> at = sys_days{year{2026} / April / 1} + milliseconds{millis};
  return kfc::format_time(kfc::MicrosecondTime{at}, kfc::kMicrosecondsFormat);
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a Kaspersky-shaped feed as static TAXII pages (bench/run.sh)"};
  std::uint64_t size = 15000;
  std::size_t page_size = 1000;
  std::uint64_t seed = 42;
  std::string out_dir;
  app.add_option("--size", size, "indicators over the three collections")->capture_default_str();
  app.add_option("--page-size", page_size, "objects per page")->capture_default_str();
  app.add_option("--seed", seed, "generator seed")->capture_default_str();
  app.add_option("--out", out_dir, "directory to write (replaced)")->required();
  CLI11_PARSE(app, argc, argv);
  if (page_size == 0) page_size = 1000;

  try {
    const fs::path root(out_dir);
    fs::remove_all(root);
    fs::create_directories(root);
    kfc::bench::FeedGenerator generator(seed);
    std::string collections = R"({"collections": [)";
    std::uint64_t pages_total = 0;
    std::uint64_t bytes_total = 0;
    const std::size_t count = std::size(kPlan);
    for (std::size_t c = 0; c < count; ++c) {
      const CollectionPlan& plan = kPlan[c];
      const std::uint64_t objects = size / count + (c < size % count ? 1 : 0);
      if (c) collections += ", ";
      collections += std::string(R"({"id": ")") + plan.id + R"(", "title": ")" + plan.id +
                     R"(", "description": "bench feed", "can_read": true, "can_write": false, )"
                     R"("media_types": ["application/stix+json;version=2.1"]})";
      const fs::path dir = root / plan.id;
      fs::create_directories(dir);
      std::ofstream index(dir / "pages.tsv");
      std::uint64_t written = 0;
      for (std::uint64_t page = 0; written < objects || page == 0; ++page) {
        const std::uint64_t in_page = std::min<std::uint64_t>(page_size, objects - written);
        const bool more = written + in_page < objects;
        std::string text = more ? R"({"more": true, "next": ")" + std::to_string(page + 1) + R"(", "objects": [)"
                                : std::string(R"({"more": false, "objects": [)");
        for (std::uint64_t i = 0; i < in_page; ++i) {
          if (i) text += ", ";
          generator.append_object(plan.kinds[(written + i) % plan.kinds.size()], text);
        }
        text += "]}";
        write_file(dir / (std::to_string(page) + ".json"), text);
        index << page << '\t' << date_added(written) << '\t' << date_added(written + (in_page ? in_page - 1 : 0)) << '\t'
              << in_page << '\n';
        written += in_page;
        bytes_total += text.size();
        ++pages_total;
        if (objects == 0) break;
      }
    }
    collections += "]}";
    write_file(root / "collections.json", collections);
    write_file(root / "feed.tsv", "indicators\t" + std::to_string(size) + "\npages\t" + std::to_string(pages_total) +
                                      "\nbytes\t" + std::to_string(bytes_total) + "\nseed\t" + std::to_string(seed) + "\n");
  } catch (const std::exception& error) {
    std::cerr << "kfc-bench-feed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

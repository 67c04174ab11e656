// kfc-bench-taxii: serves the static pages kfc-bench-feed wrote, as a TAXII 2.1 server on 127.0.0.1,
// doing as little as possible per request (one file read) so that it is not what a benchmark measures.
// Any credentials are accepted. Prints its port (first line of stdout); runs until SIGINT/SIGTERM.
//
//   GET /taxii2/                               discovery
//   GET /api/                                  API root
//   GET /api/collections/                      DIR/collections.json
//   GET /api/collections/<id>/objects/?next=k  DIR/<id>/<k>.json (k = 0 without next), with the
//                                              X-TAXII-Date-Added-First/Last headers of pages.tsv
//
// --first-request-file F: the wall-clock time of the first request, in microseconds since the epoch,
// is written to F (bench/run.sh measures the connector's cold start with it).
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <httplib.h>

#include <CLI/CLI.hpp>

#include "kfc/config/text.h"
#include "stop_signals.h"

namespace {

constexpr const char* kMedia = "application/taxii+json;version=2.1";

struct PageDates {
  std::string first;
  std::string last;
};

std::map<std::string, std::vector<PageDates>> read_indexes(const std::string& root, const std::string& collections) {
  std::map<std::string, std::vector<PageDates>> indexes;
  // Collection ids are the "id" values of collections.json; pages.tsv sits in a folder of that name.
  std::size_t at = 0;
  while ((at = collections.find(R"("id": ")", at)) != std::string::npos) {
    at += 7;
    const std::string id = collections.substr(at, collections.find('"', at) - at);
    std::ifstream index(root + "/" + id + "/pages.tsv");
    std::string line;
    auto& pages = indexes[id];
    while (std::getline(index, line)) {
      std::istringstream fields(line);
      std::string page, first, last;
      std::getline(fields, page, '\t');
      std::getline(fields, first, '\t');
      std::getline(fields, last, '\t');
      pages.push_back({first, last});
    }
  }
  return indexes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Static TAXII 2.1 server for bench/run.sh (loopback only)"};
  std::string data;
  int port = 0;
  std::string first_request_file;
  app.add_option("--data", data, "directory written by kfc-bench-feed")->required()->check(CLI::ExistingDirectory);
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free one)");
  app.add_option("--first-request-file", first_request_file, "where to write the first request's time (µs)");
  CLI11_PARSE(app, argc, argv);

  const kfc::bench::StopSignals stop;

  const std::string collections = kfc::read_whole_file(data + "/collections.json");
  if (collections.empty()) {
    std::cerr << "kfc-bench-taxii: no collections.json in " << data << "\n";
    return 1;
  }
  const auto indexes = read_indexes(data, collections);
  std::once_flag first_request;

  httplib::Server server;
  server.set_keep_alive_max_count(1'000'000);  // one connection for a whole run, as a real server keeps it
  server.set_keep_alive_timeout(60);
  server.set_pre_routing_handler([&](const httplib::Request&, httplib::Response&) {
    if (!first_request_file.empty()) {
      std::call_once(first_request, [&] {
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        std::ofstream(first_request_file) << now.count() << "\n";
      });
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.Get("/taxii2/", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"title": "bench", "default": "/api/", "api_roots": ["/api/"]})", kMedia);
  });
  server.Get("/api/", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"title": "bench API root", "versions": ["application/taxii+json;version=2.1"], )"
                         R"("max_content_length": 104857600})",
                         kMedia);
  });
  server.Get("/api/collections/", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(collections, kMedia);
  });
  server.Get(R"(/api/collections/([^/]+)/objects/)", [&](const httplib::Request& request, httplib::Response& response) {
    const std::string id = request.matches[1];
    const auto index = indexes.find(id);
    const std::size_t page = request.has_param("next") ? std::stoul(request.get_param_value("next")) : 0;
    if (index == indexes.end() || page >= index->second.size()) {
      response.status = 404;
      response.set_content(R"({"title": "not found"})", kMedia);
      return;
    }
    response.set_header("X-TAXII-Date-Added-First", index->second[page].first);
    response.set_header("X-TAXII-Date-Added-Last", index->second[page].last);
    response.set_content(kfc::read_whole_file(data + "/" + id + "/" + std::to_string(page) + ".json"), kMedia);
  });

  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound < 0) {
    std::cerr << "kfc-bench-taxii: cannot listen on 127.0.0.1:" << port << "\n";
    return 1;
  }
  std::cout << bound << std::endl;
  std::thread serving([&] { server.listen_after_bind(); });
  stop.wait();
  server.stop();
  serving.join();
  return 0;
}

// kfc-bench-fetch: the connector's TAXII source alone — the same client, settings and paging as
// `run`, reading every selected collection and discarding the parsed objects. bench/run.sh compares
// it with curl on the same pages (the server's limit) and with the full runs (what mapping and
// delivery add). Settings come from the environment and --config as for the connector
// (KASPERSKY_API_ROOT, KASPERSKY_API_TOKEN, …). Prints pages and objects read.
#include <iostream>

#include "kfc/config/loader.h"
#include "kfc/taxii/client.h"
#include "kfc/taxii/selection.h"
#include "kfc/taxii/settings_client.h"

int main(int argc, char** argv) {
  try {
    auto request = kfc::LoadRequest::from_process(argc > 2 && std::string(argv[1]) == "--config" ? argv[2] : "");
    const kfc::Settings settings = kfc::load_settings(request).settings;
    auto client = kfc::taxii::make_client(settings.kaspersky, kfc::system_clock());
    client->api_root();
    std::uint64_t pages = 0, objects = 0;
    for (const auto& collection : client->collections()) {
      if (!collection.can_read || !kfc::taxii::is_selected(settings.kaspersky.collections, collection)) continue;
      client->read_objects(collection.id, kfc::taxii::ObjectFilter{}, [&](const kfc::taxii::Page& page) {
        ++pages;
        objects += page.objects.size();
        return true;
      });
    }
    std::cout << "pages\t" << pages << "\nobjects\t" << objects << "\n";
  } catch (const std::exception& error) {
    std::cerr << "kfc-bench-fetch: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

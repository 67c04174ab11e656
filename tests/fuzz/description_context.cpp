// An indicator's description is the Kaspersky context ("actors=…;geo=…;threat_score=…"): every
// transform reads it (actors, sectors, locations, malware, reports, score), then the description
// policy. The indicator's name is picked from the input's length so every IoC branch runs.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fuzz_support.h"
#include "kfc/mapping/mapper.h"

namespace {

using namespace kfc;

mapping::Mapper& mapper() {
  static mapping::Mapper instance([] {
    mapping::MappingOptions options;
    options.threat_score_from_description = true;
    options.label_format = LabelFormat::Both;
    return options;
  }());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  const std::string_view description = fuzz::as_text(data, size);
  static const char* const kIndicators[][2] = {
      {"IP", "[ipv4-addr:value = '203.0.113.7']"},
      {"URL", "[url:value LIKE 'http://%.evil_site.example/%']"},
      {"Hash", "[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']"},
      {"Exploit", "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']"},
  };
  const auto& [name, pattern] = kIndicators[size % 4];
  rapidjson::Document batch(rapidjson::kArrayType);
  auto& a = batch.GetAllocator();
  batch.PushBack(fuzz::indicator(name, pattern, description, a), a);
  mapper().collect(batch[0], a, "TAXII_Demo_APT_Hash_Data_Feed");
  rapidjson::Document out;
  mapper().transform(batch, out);
  mapper().apply_description_policy(out, nullptr);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  out.Accept(writer);
  return 0;
}

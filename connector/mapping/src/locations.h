#pragma once
// The location datasheet (Appendix B, compiled in from data/locations.tsv) and the decoding of
// geo/users_geo/ip_geo values into country records (connector/mapping/README.md, "Context expansion").
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kfc::mapping {

struct LocationRecord {
  std::string code;             // ISO code, upper case ("DE")
  std::string title;            // country location name ("Germany")
  std::string pattern_upper;    // upper(pattern or title), for the name path
  std::vector<std::string> labels;  // upper-cased; empty for 11 records
  std::string subregion_title;  // inter_region or sub_region ("Western Europe")
  std::string region_code;      // STIX region code via the M49 map ("western-europe")
  std::string country_id;       // location id of (code, Country)
  std::string region_id;        // location id of (region_code, Region)
};

class LocationRegistry {
 public:
  // The compiled-in datasheet; throws std::runtime_error naming the record if it is inconsistent
  // (unknown M49 name, duplicate code/title/pattern).
  static const LocationRegistry& instance();
  // Builds a registry from TSV text (tests use it for the error paths).
  static LocationRegistry from_tsv(std::string_view tsv);

  struct Decoded {
    std::vector<const LocationRecord*> records;
    std::size_t unknown_tokens = 0;  // code-path tokens that matched nothing
  };
  Decoded decode(std::string_view value) const;

  const LocationRecord* find_code(std::string_view code_upper) const;
  const std::vector<LocationRecord>& records() const { return records_; }

 private:
  std::vector<LocationRecord> records_;
  std::unordered_map<std::string, std::size_t> by_code_;
};

// Appendix A: M49 name -> STIX region code ("" when unknown).
std::string_view m49_region_code(std::string_view m49_name);

}  // namespace kfc::mapping

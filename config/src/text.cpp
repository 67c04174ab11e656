#include "kfc/config/text.h"

#include <fstream>
#include <sstream>

namespace kfc {

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace kfc

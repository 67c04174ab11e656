#define PCRE2_CODE_UNIT_WIDTH 8
#include "kfc/config/regex.h"

#include <pcre2.h>

#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace kfc {
namespace {

// Far above what a label pattern needs, far below what stalls a run.
constexpr uint32_t kMatchLimit = 1'000'000;
constexpr uint32_t kDepthLimit = 10'000;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(code, buffer, sizeof buffer);
  return length < 0 ? fmt::format("PCRE2 error {}", code) : std::string(reinterpret_cast<const char*>(buffer));
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  ~Compiled() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

Regex::Regex(std::string_view pattern) : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UTF with invalid sequences tolerated in subjects: a label with broken UTF-8 is searched, not refused.
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(),
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (compiled_->code == nullptr) {
    throw std::invalid_argument(fmt::format("{} at offset {}", pcre2_message(error), offset));
  }
  compiled_->context = pcre2_match_context_create(nullptr);
  if (compiled_->context == nullptr) throw std::bad_alloc();
  pcre2_set_match_limit(compiled_->context, kMatchLimit);
  pcre2_set_depth_limit(compiled_->context, kDepthLimit);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::optional<bool> Regex::search(std::string_view text) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  if (data == nullptr) throw std::bad_alloc();
  const int result = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, data,
                                 compiled_->context);
  pcre2_match_data_free(data);
  if (result >= 0) return true;
  if (result == PCRE2_ERROR_NOMATCH) return false;
  return std::nullopt;
}

std::optional<std::vector<std::string>> Regex::first_match(std::string_view text) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  if (data == nullptr) throw std::bad_alloc();
  const int result = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, data,
                                 compiled_->context);
  std::optional<std::vector<std::string>> groups;
  if (result > 0) {
    const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(data);
    const uint32_t count = pcre2_get_ovector_count(data);
    groups.emplace();
    for (uint32_t i = 0; i < count; ++i) {
      const PCRE2_SIZE begin = offsets[2 * i];
      const PCRE2_SIZE end = offsets[2 * i + 1];
      groups->push_back(begin == PCRE2_UNSET || i >= static_cast<uint32_t>(result)
                            ? std::string()
                            : std::string(text.substr(begin, end - begin)));
    }
  }
  pcre2_match_data_free(data);
  return groups;
}

std::optional<std::string> regex_error(std::string_view pattern) {
  try {
    Regex compiled(pattern);
  } catch (const std::invalid_argument& error) {
    return std::string(error.what());
  }
  return std::nullopt;
}

}  // namespace kfc

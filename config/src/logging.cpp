#include "kfc/config/logging.h"

#include <unistd.h>

#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "kfc/config/values.h"

namespace kfc {
namespace {

constexpr const char* kLoggerName = "kaspersky-feeds";

void append_json_string(spdlog::memory_buf_t& out, std::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out.append(std::string_view{"\\\""}); break;
      case '\\': out.append(std::string_view{"\\\\"}); break;
      case '\n': out.append(std::string_view{"\\n"}); break;
      case '\r': out.append(std::string_view{"\\r"}); break;
      case '\t': out.append(std::string_view{"\\t"}); break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& out) override {
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::string timestamp = format_timestamp(std::chrono::time_point_cast<std::chrono::system_clock::duration>(msg.time));
    timestamp.insert(timestamp.size() - 1, fmt::format(".{:03}", millis));
    out.append(std::string_view{"{\"timestamp\":"});
    append_json_string(out, timestamp);
    out.append(std::string_view{",\"level\":"});
    const auto level = spdlog::level::to_string_view(msg.level);
    append_json_string(out, std::string_view(level.data(), level.size()));
    out.append(std::string_view{",\"name\":"});
    append_json_string(out, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    out.append(std::string_view{",\"message\":"});
    append_json_string(out, std::string_view(msg.payload.data(), msg.payload.size()));
    out.append(std::string_view{"}\n"});
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

spdlog::level::level_enum parse_level(std::string_view level) {
  const std::string lower = to_lower(level);
  if (lower == "warning") return spdlog::level::warn;
  const auto parsed = spdlog::level::from_str(lower);
  // from_str answers "off" for anything it does not know; an unknown level must not silence logs.
  return parsed == spdlog::level::off && lower != "off" ? spdlog::level::info : parsed;
}

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() { return std::make_unique<JsonFormatter>(); }

LogFormat resolve_log_format(std::string_view cli_flag, const Settings& settings) {
  if (cli_flag == "json") return LogFormat::Json;
  if (cli_flag == "human") return LogFormat::Human;
  if (settings.connector.log_format != LogFormat::Auto) return settings.connector.log_format;
  return settings.opencti.json_logging ? LogFormat::Json : LogFormat::Human;
}

void setup_logging(std::string_view level, LogFormat format) {
  std::shared_ptr<spdlog::logger> logger;
  if (format == LogFormat::Json) {
    logger = std::make_shared<spdlog::logger>(kLoggerName, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(make_json_formatter());
  } else {
    // Colours only on a terminal; the pattern stays the same either way.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
        ::isatty(STDERR_FILENO) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
    logger = std::make_shared<spdlog::logger>(kLoggerName, std::move(sink));
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-8l%$ %n: %v");
  }
  logger->set_level(parse_level(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

std::shared_ptr<spdlog::logger> named_logger(std::string name) { return spdlog::default_logger()->clone(std::move(name)); }

}  // namespace kfc

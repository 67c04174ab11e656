#pragma once
// Process-wide logging with spdlog, to stderr (stdout stays clean for dry-run output):
// human-readable lines by default, one JSON object per line {"timestamp","level","name","message"}
// when OPENCTI_JSON_LOGGING is true or --log-format json is given (what OpenCTI operators collect).
//
//   kfc::setup_logging(settings.connector.log_level,
//                      kfc::resolve_log_format(context.log_format, settings));
//   auto log = kfc::named_logger("taxii");  // same sinks and format, its own "name"
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include "kfc/config/settings.h"

namespace kfc {

// The format to use: --log-format (human|json) when given, else connector.log_format, else JSON when
// opencti.json_logging (OPENCTI_JSON_LOGGING) is true, else human.
LogFormat resolve_log_format(std::string_view cli_flag, const Settings& settings);

// Replaces spdlog's default logger ("kaspersky-feeds") by one writing to stderr in `format`.
// `level`: debug, info, warn/warning, error (connector.log_level; trace, critical, off also work).
void setup_logging(std::string_view level, LogFormat format);

// A logger named `name` sharing the default logger's sinks, format and level.
std::shared_ptr<spdlog::logger> named_logger(std::string name);

// The JSON-lines formatter (exposed so tests can attach it to their own sink).
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace kfc

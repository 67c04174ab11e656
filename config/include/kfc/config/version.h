#pragma once
#include <string_view>

namespace kfc {

// The connector's version (the CMake project version).
std::string_view version();
// The reference connector whose configuration and output this one reproduces.
inline constexpr std::string_view kReferenceConnector = "Kaspersky Feeds for OpenCTI 1.1.3";

}  // namespace kfc

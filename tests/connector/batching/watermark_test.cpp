#include "kfc/batching/watermark.h"
#include <gtest/gtest.h>

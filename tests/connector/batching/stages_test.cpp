#include "kfc/batching/stages.h"
#include <gtest/gtest.h>

#pragma once
// The counter structs (TAXII read stats, sink stats, reference repairs) add up field by field. Each
// lists its fields once, in one call, instead of a `field += other.field;` line per field.
namespace kfc {

template <class T, class... Counter>
T& add_counters(T& into, const T& from, Counter T::*... counters) {
  ((into.*counters += from.*counters), ...);
  return into;
}

}  // namespace kfc

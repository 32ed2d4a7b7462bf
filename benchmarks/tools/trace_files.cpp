// Reading a shared editing trace of either kind (trace_files.hpp).
#include "trace_files.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace crdt_tools {
namespace {

/// A SAX handler that only notes the top-level keys that mark a concurrent
/// trace ("numAgents", or "kind" with the string value "concurrent"). It
/// builds nothing; a syntax error just ends the scan (the loader then
/// reports it properly).
struct kind_scanner : nlohmann::json_sax<nlohmann::json> {
    std::size_t depth = 0;
    bool kind_key = false; // the last top-level key was "kind"
    bool concurrent = false;

    bool value() {
        kind_key = false;
        return true;
    }
    bool null() override { return value(); }
    bool boolean(bool) override { return value(); }
    bool number_integer(number_integer_t) override { return value(); }
    bool number_unsigned(number_unsigned_t) override { return value(); }
    bool number_float(number_float_t, const string_t&) override { return value(); }
    bool string(string_t& s) override {
        if (depth == 1 && kind_key && s == "concurrent") {
            concurrent = true;
        }
        return value();
    }
    bool binary(binary_t&) override { return value(); }
    bool start_object(std::size_t) override {
        kind_key = false;
        ++depth;
        return true;
    }
    bool end_object() override {
        --depth;
        return true;
    }
    bool start_array(std::size_t) override {
        kind_key = false;
        ++depth;
        return true;
    }
    bool end_array() override {
        --depth;
        return true;
    }
    bool key(string_t& k) override {
        if (depth == 1) {
            kind_key = k == "kind";
            concurrent = concurrent || k == "numAgents";
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }
};

} // namespace

any_trace load_trace(const std::string& path) {
    namespace traces = crdt_test::traces;
    const std::string bytes = traces::read_maybe_gzipped(path);
    kind_scanner scan;
    nlohmann::json::sax_parse(bytes, &scan, nlohmann::json::input_format_t::json, false);
    if (scan.concurrent) {
        return traces::load_concurrent_trace(path);
    }
    return traces::load_sequential_trace(path);
}

} // namespace crdt_tools

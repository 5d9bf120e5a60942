#pragma once

// server/-internal: result cells in PostgreSQL's text format. engine::Chunk::AppendText gives
// DuckDB's human text; most of it is already what PostgreSQL sends, the rest is converted here
// per column type: booleans as t/f, NaN/Infinity, bytea as \x hex, intervals with "mon", BC dates,
// and lists (JSON in Loom) as PostgreSQL array literals {a,"b c",NULL}.

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace loom::server::pg {

// The typlen PostgreSQL announces for a type OID in RowDescription (-1 = variable).
int16_t TypeSize(int32_t oid);

// Appends one non-NULL cell in PostgreSQL text format. Stateless and thread-safe.
using CellWriter = void (*)(const engine::Chunk& chunk, size_t col, size_t row, std::string* out);
CellWriter CellWriterFor(int32_t oid);

// Converts a JSON array text (as Loom renders lists) to a PostgreSQL array literal. Numbers are
// copied verbatim, strings decoded and quoted where PostgreSQL quotes them, objects kept as
// quoted JSON. Input that is not a JSON array is appended unchanged.
void AppendJsonAsPgArray(std::string_view json, std::string* out);

// PostgreSQL's bytea hex output ("\x4142") for DuckDB's blob text ("AB", "\x00" escapes).
void AppendDuckBlobAsPgHex(std::string_view duck_text, std::string* out);

}  // namespace loom::server::pg

// Package db holds Starling's SQL migrations, embedded in the binary and applied with goose.
// River's own tables are migrated separately by rivermigrate (see internal/migrate).
package db

import "embed"

// Migrations is the set of goose migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var Migrations embed.FS

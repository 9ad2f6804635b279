package api

import "context"

type contextT = context.Context

// Package tracing sets up OpenTelemetry tracing, off by default. With
// OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported over OTLP/HTTP (the exporter reads
// the standard OTEL_* variables). Starling makes HTTP server spans (named by route
// template), database spans (pgx queries, statement text without arguments) and job spans,
// and carries the trace context in each job's metadata, so a job's span continues the trace
// of the request that enqueued it.
package tracing

import (
	"context"
	"os"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation name of Starling's spans.
const Name = "github.com/starling-social/starling"

// Setup installs a tracer provider exporting over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and the W3C trace-context propagator.
// It returns a function that flushes and stops the exporter. Without the variable it
// installs nothing and tracing costs nothing.
func Setup(ctx context.Context, role string) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	return Install(exp, role), nil
}

// Install makes exp the destination of every span (tests pass an in-memory exporter). It
// returns the provider's shutdown function.
func Install(exp sdktrace.SpanExporter, role string) func(context.Context) error {
	res := resource.NewSchemaless(semconv.ServiceName("starling"), attribute.String("starling.role", role))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown
}

func tracer() trace.Tracer { return otel.Tracer(Name) }

// Inject writes ctx's trace context into carrier (job metadata).
func Inject(ctx context.Context, carrier map[string]string) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(carrier))
}

// StartJob starts the span of a job attempt, continuing the trace found in carrier.
func StartJob(ctx context.Context, kind string, carrier map[string]string) (context.Context, trace.Span) {
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(carrier))
	return tracer().Start(ctx, "job "+kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("starling.job.kind", kind)))
}

// End ends span, recording err.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "failed")
	}
	span.End()
}

// NameHTTP renames the current server span after the route template.
func NameHTTP(ctx context.Context, method, route string) {
	span := trace.SpanFromContext(ctx)
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.route", route))
}

// PGX is a pgx query tracer that makes a span per query.
type PGX struct{}

type spanKey struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (PGX) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		return ctx // only inside a traced request or job
	}
	ctx, span := tracer().Start(ctx, "db.query", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.statement", firstLine(data.SQL))))
	return context.WithValue(ctx, spanKey{}, span)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (PGX) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok {
		End(span, data.Err)
	}
}

// firstLine keeps the sqlc query name comment and the start of the statement.
func firstLine(sql string) string {
	if len(sql) > 200 {
		return sql[:200]
	}
	return sql
}

// Traceparent returns the W3C traceparent of the span in ctx, or "" when there is none
// (or tracing is off): what an event stores so that its consumers continue the trace.
func Traceparent(ctx context.Context) string {
	carrier := map[string]string{}
	Inject(ctx, carrier)
	return carrier["traceparent"]
}

// StartConsume starts the span of a consumer's work on one event, continuing the trace
// of the request that wrote it (traceparent, as Traceparent gave it) when there is one.
func StartConsume(ctx context.Context, consumer, traceparent string) (context.Context, trace.Span) {
	if traceparent != "" {
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
	}
	return tracer().Start(ctx, "consume "+consumer, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("starling.consumer", consumer)))
}

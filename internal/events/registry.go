package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// TopicInfo describes one topic of the event log: its name, the version of its payload,
// and its Go type.
type TopicInfo struct {
	Name    string
	Version int
	// New returns a zero value of the topic's Go type.
	New func() Event
	// decode parses a payload into the topic's Go type.
	decode func(payload []byte) (Event, error)
}

// topic describes the topic of Go type E at version: its name is E's Topic, and its
// payloads decode into an E. A new topic is one type with a Topic method and one line of
// Registry; readers that switch on the decoded type see it there.
func topic[E Event](version int) TopicInfo {
	var zero E
	return TopicInfo{
		Name:    zero.Topic(),
		Version: version,
		New:     func() Event { var e E; return e },
		decode: func(payload []byte) (Event, error) {
			var e E
			if err := json.Unmarshal(payload, &e); err != nil {
				return nil, fmt.Errorf("event %s: %w", zero.Topic(), err)
			}
			return e, nil
		},
	}
}

// Registry lists every topic. docs/asyncapi.yaml documents each one, and
// internal/events/schemas holds its JSON Schema (TOPIC.vVERSION.json); tests keep the
// three in step.
var Registry = []TopicInfo{
	topic[UserCreated](1),
	topic[PostCreated](2),
	topic[PostDeleted](2),
	topic[PostUpdated](1),
	topic[FavouriteCreated](1),
	topic[FavouriteDeleted](1),
	topic[FollowCreated](2),
	topic[FollowDeleted](1),
	topic[FollowRequested](1),
	topic[NotificationCreated](2),
	topic[ConversationUpdated](1),
	topic[AccountUpdated](1),
	topic[TokenRevoked](1),
}

// byName indexes Registry by topic name.
var byName = func() map[string]TopicInfo {
	m := make(map[string]TopicInfo, len(Registry))
	for _, t := range Registry {
		m[t.Name] = t
	}
	return m
}()

// ErrUnknownTopic is returned by Decode for a topic that is not in Registry: one written by
// a newer version of Starling, say, during a rolling upgrade.
var ErrUnknownTopic = errors.New("unknown event topic")

// Decode parses payload into the Go type registered for topic and returns it as a value
// (PostCreated, not *PostCreated), for a type switch. Fields the type does not have are
// ignored. It returns ErrUnknownTopic for a topic not in Registry.
func Decode(topic string, payload []byte) (Event, error) {
	t, ok := byName[topic]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTopic, topic)
	}
	return t.decode(payload)
}

// Schemas holds the JSON Schema of every topic version.
//
//go:embed schemas/*.json
var Schemas embed.FS

// schema is the subset of JSON Schema the event schemas use.
type schema struct {
	Type                 string              `json:"type"`
	Required             []string            `json:"required"`
	AdditionalProperties *bool               `json:"additionalProperties"`
	Properties           map[string]property `json:"properties"`
}

type property struct {
	Type     string    `json:"type"`
	Enum     []string  `json:"enum"`
	Minimum  *float64  `json:"minimum"`
	Items    *property `json:"items"`
	MinItems int       `json:"minItems"`
}

// Validate checks payload against the schema of topic's current version. It supports the
// keywords the event schemas use: type (object, integer, string, array), required,
// properties, additionalProperties false, enum, minimum, items and minItems.
func Validate(topic string, payload []byte) error {
	i := slices.IndexFunc(Registry, func(t TopicInfo) bool { return t.Name == topic })
	if i < 0 {
		return fmt.Errorf("unknown topic %q", topic)
	}
	raw, err := Schemas.ReadFile(fmt.Sprintf("schemas/%s.v%d.json", topic, Registry[i].Version))
	if err != nil {
		return fmt.Errorf("no schema for %s: %w", topic, err)
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("schema of %s: %w", topic, err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc map[string]any
	if s.Type != "object" || dec.Decode(&doc) != nil || doc == nil {
		return fmt.Errorf("%s: payload is not an object", topic)
	}
	for _, k := range s.Required {
		if _, ok := doc[k]; !ok {
			return fmt.Errorf("%s: missing %s", topic, k)
		}
	}
	for k, v := range doc {
		p, ok := s.Properties[k]
		if !ok {
			if s.AdditionalProperties != nil && !*s.AdditionalProperties {
				return fmt.Errorf("%s: unexpected property %s", topic, k)
			}
			continue
		}
		if err := p.check(v); err != nil {
			return fmt.Errorf("%s: %s %w", topic, k, err)
		}
	}
	return nil
}

// check validates one value against p.
func (p property) check(v any) error {
	switch p.Type {
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return errors.New("is not a number")
		}
		x, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return errors.New("is not an integer")
		}
		if p.Minimum != nil && float64(x) < *p.Minimum {
			return fmt.Errorf("is below %v", *p.Minimum)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return errors.New("is not a string")
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, str) {
			return fmt.Errorf("is not one of %v", p.Enum)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return errors.New("is not an array")
		}
		if len(list) < p.MinItems {
			return fmt.Errorf("has fewer than %d items", p.MinItems)
		}
		if p.Items == nil {
			return errors.New("has no items schema")
		}
		for i, item := range list {
			if err := p.Items.check(item); err != nil {
				return fmt.Errorf("item %d %w", i, err)
			}
		}
	default:
		return fmt.Errorf("has schema type %q, which is not supported", p.Type)
	}
	return nil
}

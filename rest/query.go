package rest

import (
	"net/url"
	"sort"
	"strings"
)

// Query decodes a URL query as Feathers does (with qs): values stay
// strings, a repeated key becomes a list, and bracketed keys nest:
//
//	done=false&age[$gt]=3&$sort[name]=1&tags[]=a&tags[]=b&$limit=10
//	-> {"done":"false","age":{"$gt":"3"},"$sort":{"name":"1"},"tags":["a","b"],"$limit":"10"}
//
// A key whose bracket does not close is taken whole. Where one key is both
// a value and an object (a=1&a[b]=2), the object wins.
func Query(values url.Values) map[string]any {
	out := make(map[string]any, len(values))
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a deterministic result where keys overlap
	for _, k := range keys {
		path, list := splitKey(k)
		for _, v := range values[k] {
			set(out, path, v, list || len(values[k]) > 1)
		}
	}
	return out
}

// splitKey splits "a[b][c]" into [a b c]; a trailing "[]" means a list.
func splitKey(key string) (path []string, list bool) {
	open := strings.IndexByte(key, '[')
	if open <= 0 || !strings.HasSuffix(key, "]") {
		return []string{key}, false
	}
	path = append(path, key[:open])
	rest := key[open:]
	for len(rest) > 0 {
		if rest[0] != '[' {
			return []string{key}, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return []string{key}, false
		}
		seg := rest[1:end]
		rest = rest[end+1:]
		if seg == "" && len(rest) == 0 {
			return path, true
		}
		path = append(path, seg)
	}
	return path, false
}

// set stores v at path in m, appending to a list where asked or where the
// key repeats.
func set(m map[string]any, path []string, v string, list bool) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = make(map[string]any)
			m[p] = next
		}
		m = next
	}
	last := path[len(path)-1]
	if !list {
		if _, isMap := m[last].(map[string]any); !isMap {
			m[last] = v
		}
		return
	}
	switch cur := m[last].(type) {
	case []any:
		m[last] = append(cur, v)
	case map[string]any:
	default:
		m[last] = []any{v}
	}
}

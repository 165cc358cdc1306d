package serializer

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestBoxSharesOnlyIndirectValues decodes into types an interface holds
// indirectly (box shares the decoded memory) and directly (box copies, as
// reflect does), and checks each result against encoding/json.
func TestBoxSharesOnlyIndirectValues(t *testing.T) {
	type one struct{ P *int }
	type two struct {
		A int
		B string
	}
	n := 7
	for _, c := range []struct {
		data     any // a value of the type to decode into
		input    string
		indirect bool
	}{
		{two{}, `{"A":1,"B":"x"}`, true},
		{struct{}{}, `{}`, true},
		{0, `42`, true},
		{"", `"s"`, true},
		{[]int(nil), `[1,2]`, true},
		{[2]*int{}, `[1,null]`, true},
		{one{}, `{"P":7}`, false},
		{[1]*int{}, `[7]`, false},
		{&n, `8`, false},
		{map[string]int(nil), `{"a":1}`, false},
	} {
		typ := reflect.TypeOf(c.data)
		if got := ifaceTypeWord(typ) != nil; got != c.indirect {
			t.Errorf("%v: held indirectly = %v, want %v", typ, got, c.indirect)
		}
		got, _, err := decodeDataAt([]byte(c.input), 0, typ)
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		want := reflect.New(typ)
		if err := json.Unmarshal([]byte(c.input), want.Interface()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want.Elem().Interface()) {
			t.Errorf("%v: got %#v, want %#v", typ, got, want.Elem().Interface())
		}
	}
	if ifaceTypeWord(reflect.TypeFor[any]()) != nil {
		t.Error("an interface type must be left to reflect")
	}
}

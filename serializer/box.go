package serializer

import (
	"reflect"
	"unsafe"
)

// box returns the value p points to as an interface, sharing p's memory.
// p.Elem().Interface() would copy the value into a second allocation; a
// freshly decoded value is referred to by nothing else and an interface's
// value is never changed in place, so sharing cannot be observed. typeWord
// comes from ifaceTypeWord(p.Elem().Type()); nil means copy as usual.
func box(p reflect.Value, typeWord unsafe.Pointer) any {
	if typeWord == nil {
		return p.Elem().Interface()
	}
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: typeWord, data: p.UnsafePointer()}
	return v
}

// eface is the layout of an interface{} value (runtime.eface).
type eface struct{ typ, data unsafe.Pointer }

// ifaceTypeWord returns the type word of interfaces holding a t, or nil
// for the types box leaves to reflect: interfaces, and pointer-shaped types,
// which an interface holds in its data word itself (boxing them costs
// nothing). Rather than restate the compiler's rule for which types those
// are, it looks: an interface holding a zero pointer-shaped value has a nil
// data word, any other zero value is pointed to.
func ifaceTypeWord(t reflect.Type) unsafe.Pointer {
	if t.Kind() == reflect.Interface {
		return nil
	}
	z := reflect.Zero(t).Interface()
	e := (*eface)(unsafe.Pointer(&z))
	if e.data == nil {
		return nil
	}
	return e.typ
}

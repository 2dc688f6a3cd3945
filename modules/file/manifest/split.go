package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// document is one "---"-separated document of a file.
type document struct {
	index int
	data  []byte
}

// splitDocuments cuts a YAML stream into documents with apimachinery's YAMLReader, the
// splitter kubectl uses, so that files are split exactly as kubectl would split them. Each
// document the reader returns, including comment-only ones, takes the next index, so that
// indexes match what a person counts in the file.
//
// Only an error from the reader itself (a separator line followed by content, such as
// "--- foo") stops the stream; it is returned with the index of the document it was met in,
// together with the documents before it.
func splitDocuments(data []byte) ([]document, *docError) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, &docError{index: len(docs), msg: fmt.Sprintf("invalid YAML stream, documents after this one were not read: %v", err), err: err}
		}
		docs = append(docs, document{index: len(docs), data: chunk})
	}
}

// docError is a problem with a document as a whole, before it has a kind or a name.
type docError struct {
	index int
	msg   string
	err   error
}

// Package caddyfile adapts the Caddyfile's global option
//
//	{
//		mesh {
//			node <name>
//			source <type> [<args...>] {
//				...
//			}
//			identity {
//				ca internal
//				...
//			}
//			meshless {
//				...
//			}
//			gateway {
//				class <names...>
//				...
//			}
//		}
//	}
//
// to the mesh app's JSON. It lives apart from the modules it configures because
// httpcaddyfile imports the HTTP app, which mesh consumers are part of: keeping the parsing
// here avoids an import cycle, as Caddy's own eventsconfig does.
package caddyfile

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	cf "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("mesh", parseMesh)
}

// namedSource is implemented by sources whose Caddyfile syntax can name them; otherwise a
// source is named after its type ("file", "kubernetes").
type namedSource interface{ CaddyfileName() string }

// parseMesh sets up the mesh app. Repeated mesh blocks merge into one app; two sources with
// the same name are an error.
func parseMesh(d *cf.Dispenser, existing any) (any, error) {
	app := new(mesh.App)
	if existing != nil {
		prev, ok := existing.(httpcaddyfile.App)
		if !ok {
			return nil, d.Errf("existing mesh config of unexpected type %T", existing)
		}
		if err := json.Unmarshal(prev.Value, app); err != nil {
			return nil, d.Errf("parsing earlier mesh block: %v", err)
		}
	}
	if app.SourcesRaw == nil {
		app.SourcesRaw = make(map[string]json.RawMessage)
	}

	d.Next() // the option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "source":
			if err := parseSource(d, app); err != nil {
				return nil, err
			}
		case "node":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			app.Node = d.Val()
			if d.NextArg() {
				return nil, d.ArgErr()
			}
		case "identity":
			if err := parseIdentity(d, app); err != nil {
				return nil, err
			}
		case "meshless", "gateway":
			if err := parseAgent(d, app, d.Val()); err != nil {
				return nil, err
			}
		default:
			return nil, d.Errf("unrecognized mesh option %q", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "mesh", Value: caddyconfig.JSON(app, nil)}, nil
}

// parseSource reads `source <type> ...`, handing the rest of the segment to the source
// module's own Caddyfile unmarshaler.
func parseSource(d *cf.Dispenser, app *mesh.App) error {
	if !d.NextArg() {
		return d.Err("source needs a type, such as: source file <paths...>")
	}
	typ := d.Val()
	file, line := d.File(), d.Line()
	unm, err := cf.UnmarshalModule(d, "mesh.sources."+typ)
	if err != nil {
		return err
	}
	name := typ
	if n, ok := unm.(namedSource); ok && n.CaddyfileName() != "" {
		name = n.CaddyfileName()
	}
	if _, dup := app.SourcesRaw[name]; dup {
		return fmt.Errorf("mesh source %q is defined twice; give one another name with 'name <name>', at %s:%d", name, file, line)
	}
	var warnings []caddyconfig.Warning
	app.SourcesRaw[name] = caddyconfig.JSONModuleObject(unm, "source", typ, &warnings)
	if len(warnings) > 0 {
		return fmt.Errorf("encoding mesh source %q: %s, at %s:%d", name, warnings[0].Message, file, line)
	}
	return nil
}

// parseIdentity reads `identity { ca <name> ... }`: the ca line names the module
// (mesh.identity.<name>, default internal), which reads the rest of the block.
func parseIdentity(d *cf.Dispenser, app *mesh.App) error {
	if app.IdentityRaw != nil {
		return d.Err("mesh identity is defined twice")
	}
	seg := d.NextSegment()
	ca := "internal"
	scan := cf.NewDispenser(seg)
	scan.Next()
	for scan.NextBlock(0) {
		if scan.Val() == "ca" && scan.NextArg() {
			ca = scan.Val()
		}
	}
	block := cf.NewDispenser(seg)
	block.Next() // UnmarshalModule hands over the segment from the current token on
	unm, err := cf.UnmarshalModule(block, "mesh.identity."+ca)
	if err != nil {
		return err
	}
	var warnings []caddyconfig.Warning
	app.IdentityRaw = caddyconfig.JSONModuleObject(unm, "ca", ca, &warnings)
	if len(warnings) > 0 {
		return d.Errf("encoding mesh identity: %s", warnings[0].Message)
	}
	return nil
}

// parseAgent reads an agent's block with the module mesh.agents.<name>.
func parseAgent(d *cf.Dispenser, app *mesh.App, name string) error {
	if _, dup := app.AgentsRaw[name]; dup {
		return d.Errf("mesh %s is defined twice", name)
	}
	unm, err := cf.UnmarshalModule(d, "mesh.agents."+name)
	if err != nil {
		return err
	}
	if app.AgentsRaw == nil {
		app.AgentsRaw = make(caddy.ModuleMap)
	}
	app.AgentsRaw[name] = caddyconfig.JSON(unm, nil)
	return nil
}

"""Build the CC0 MakeHuman/MPFB2 body in headless Blender: mesh, rig from the joint helpers, skin weights,
and simple clothing colours by dominant bone."""
from __future__ import annotations

import json

import bpy
import numpy as np

from ...retarget import blender_io
from ...retarget.rig import Rig
from ..assets import mpfb2_dir

#: Mesh units are decimetres, Y up; Blender wants metres, Z up (the body then faces -Y).
def _to_blender(v: np.ndarray) -> np.ndarray:
    return np.column_stack([v[:, 0], -v[:, 2], v[:, 1]]) * 0.1


def read_base_mesh() -> tuple[np.ndarray, list[list[int]], list[str]]:
    """Vertices (Blender frame), faces and the group each face belongs to, from ``3dobjs/base.obj``."""
    verts, faces, groups, group = [], [], [], ""
    for line in (mpfb2_dir() / "3dobjs" / "base.obj").read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split(maxsplit=1)[1].strip()
        elif line.startswith("f "):
            faces.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
            groups.append(group)
    return _to_blender(np.array(verts)), faces, groups


def _vertex_group_members(name: str, table: dict) -> np.ndarray:
    return np.concatenate([np.arange(a, b + 1) for a, b in table[name]])


def rig_from_mesh(verts: np.ndarray, rig_name: str = "game_engine") -> Rig:
    """The rig's bones placed on this mesh: heads/tails at the mean of their joint-helper cubes."""
    data = json.loads((mpfb2_dir() / "rigs" / "standard" / f"rig.{rig_name}.json").read_text())
    data = data.get("bones", data) if isinstance(data.get("bones"), dict) else data
    table = json.loads((mpfb2_dir() / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())

    def point(spec):
        idx = _vertex_group_members(spec["cube_name"], table) if spec["strategy"] == "CUBE" else spec["vertex_indices"]
        return verts[np.asarray(idx)].mean(0)

    bones = {n: {"head": point(b["head"]), "tail": point(b["tail"]), "roll": b.get("roll", 0.0), "parent": b.get("parent") or None}
             for n, b in data.items()}
    return Rig.from_bones(bones)


CLOTHES = {"shirt": ("spine", "clavicle", "upperarm", "lowerarm", "pelvis_top"), "trousers": ("pelvis", "thigh", "calf"),
           "shoes": ("foot", "ball")}


def build(name: str = "Human", rig_name: str = "game_engine", skin=(0.8, 0.6, 0.5), shirt=(0.2, 0.3, 0.7),
          trousers=(0.15, 0.15, 0.18), shoes=(0.05, 0.05, 0.05)) -> bpy.types.Object:
    """The skinned character (mesh parented to its armature); returns the armature object."""
    verts, faces, groups = read_base_mesh()
    keep = [i for i, g in enumerate(groups) if g == "body"]
    used = np.unique(np.concatenate([faces[i] for i in keep]))
    remap = -np.ones(len(verts), int)
    remap[used] = np.arange(len(used))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts[used].tolist(), [], [[int(remap[v]) for v in faces[i]] for i in keep])
    mesh.update()
    for poly in mesh.polygons:
        poly.use_smooth = True
    body = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(body)
    rig = rig_from_mesh(verts, rig_name)
    arm = blender_io.create_armature(rig, f"{name} rig")
    weights = json.loads((mpfb2_dir() / "rigs" / "standard" / f"weights.{rig_name}.json").read_text())["weights"]
    dominant = np.full(len(used), "", object)
    best = np.zeros(len(used))
    for bone, pairs in weights.items():
        if not pairs:
            continue
        pairs = np.array(pairs)
        idx, w = remap[pairs[:, 0].astype(int)], pairs[:, 1]
        ok = idx >= 0
        vg = body.vertex_groups.new(name=bone)
        for v, wt in zip(idx[ok], w[ok]):
            vg.add([int(v)], float(wt), "REPLACE")
        stronger = w[ok] > best[idx[ok]]
        best[idx[ok][stronger]] = w[ok][stronger]
        dominant[idx[ok][stronger]] = bone
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    body.parent = arm
    colours = {"skin": skin, "shirt": shirt, "trousers": trousers, "shoes": shoes}
    for key, rgb in colours.items():
        mat = bpy.data.materials.new(f"{name} {key}")
        mat.use_nodes = True
        mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*rgb, 1.0)
        mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.6
        mesh.materials.append(mat)
    order = list(colours)
    for poly in mesh.polygons:
        bones = [dominant[v] for v in poly.vertices]
        part = "skin"
        for garment, prefixes in CLOTHES.items():
            if sum(b.startswith(prefixes) for b in bones) * 2 > len(bones):
                part = garment
        if part == "shirt" and any(b.startswith(("hand", "neck", "head")) for b in bones):
            part = "skin"
        poly.material_index = order.index(part)
    return arm

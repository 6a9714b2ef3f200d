"""The sidebar tab (3D viewport, N panel, "Mocap"): Capture from video, Complete limbs, Retarget (file, folder,
armature), Bone mapping."""
import bpy


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Mocap"


class VIDEO_MOCAP_PT_capture(_Panel, bpy.types.Panel):
    bl_label = "Capture from Video"

    def draw(self, context):
        s = context.scene.video_mocap
        col = self.layout.column()
        col.prop(s, "video")
        row = col.row(align=True)
        row.prop(s, "frame_start")
        row.prop(s, "frame_stop")
        row = col.row(align=True)
        row.operator("video_mocap.find_people", icon="COMMUNITY")
        row.prop(s, "person")
        image = bpy.data.images.get("Video Mocap People")
        if s.people_info:
            col.label(text=s.people_info, icon="INFO")
            if image is not None and image.preview is not None:
                col.template_icon(icon_value=image.preview.icon_id, scale=8.0)
        col.prop(s, "lifter")
        col.prop(s, "detector")
        row = col.row(align=True)
        row.prop(s, "hands")
        sub = row.row()
        sub.enabled = s.hands
        sub.prop(s, "unseen_fingers", text="Unseen")
        col.prop(s, "device")
        row = col.row(align=True)
        row.prop(s, "complete")
        sub = row.row()
        sub.enabled = s.complete
        sub.prop(s, "threshold")
        col.prop(s, "fix_swaps")
        col.prop(s, "solve")
        sub = col.row()
        sub.enabled = s.solve
        sub.prop(s, "camera_height")
        col.prop(s, "performer_height")
        col.prop(s, "moving_camera")
        col.prop(s, "smooth")
        col.prop(s, "fov")
        col.separator()
        col.prop(s, "armature", text="Target")
        if s.armature is None:
            col.label(text="No armature: a new one will be created", icon="INFO")
        col.prop(s, "preset")
        if s.detected:
            col.label(text=f"Detected: {s.detected}")
        col.prop(s, "root_mode")
        row = col.row(align=True)
        row.prop(s, "fix_feet")
        row.prop(s, "pin_feet")
        col.prop(s, "load_reference")
        col.separator()
        if s.running:
            col.progress(factor=s.progress, text=s.status)
            col.operator("video_mocap.cancel", icon="CANCEL")
        else:
            col.operator("video_mocap.capture", icon="RENDER_ANIMATION")
            if s.status:
                col.label(text=s.status)


class VIDEO_MOCAP_PT_retarget(_Panel, bpy.types.Panel):
    bl_label = "Retarget Motion"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.video_mocap
        col = self.layout.column()
        col.prop(s, "motion_file")
        col.operator("video_mocap.retarget_file", icon="ARMATURE_DATA")
        col.separator()
        col.prop(s, "motion_folder")
        col.operator("video_mocap.retarget_folder", icon="FILE_FOLDER")
        col.separator()
        col.prop(s, "source_armature")
        col.operator("video_mocap.retarget_armature", icon="OUTLINER_OB_ARMATURE")


class VIDEO_MOCAP_PT_mapping(_Panel, bpy.types.Panel):
    bl_label = "Bone Mapping"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        from .mapping import mapped_armature

        s = context.scene.video_mocap
        col = self.layout.column()
        col.row().prop(s, "mapping_of", expand=True)
        obj = mapped_armature(context)
        if obj is None:
            col.label(text="Choose the Source armature (Retarget Motion panel)" if s.mapping_of == "source"
                      else "Select an armature (or set the Target)", icon="INFO")
            return
        col.operator("video_mocap.mapping_detect", icon="BONE_DATA")
        if s.mapping_armature != obj.name or not len(s.mapping):
            return
        col.label(text=s.mapping_info, icon="INFO")
        grid = col.grid_flow(columns=1, align=True)
        for row in s.mapping:
            line = grid.row(align=True)
            line.label(text=row.role, icon="ERROR" if row.unsure else "BLANK1")
            line.prop_search(row, "bone", obj.data, "bones", text="")
        col.prop(s, "mapping_path")
        row = col.row(align=True)
        row.operator("video_mocap.mapping_save", icon="FILE_TICK")
        row.operator("video_mocap.mapping_load", icon="FILEBROWSER")
        col.operator("video_mocap.mapping_clear", icon="X")


class VIDEO_MOCAP_PT_complete(_Panel, bpy.types.Panel):
    bl_label = "Complete Missing Limbs"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.video_mocap
        col = self.layout.column()
        obj = context.object
        col.label(text=f"Action: {obj.animation_data.action.name}" if obj and obj.animation_data and obj.animation_data.action
                  else "Select an armature with an action", icon="ACTION")
        col.prop(s, "limbs")
        row = col.row(align=True)
        row.prop(s, "complete_start")
        row.prop(s, "complete_end")
        col.operator("video_mocap.complete_limbs", icon="MOD_ARMATURE")


CLASSES = (VIDEO_MOCAP_PT_capture, VIDEO_MOCAP_PT_complete, VIDEO_MOCAP_PT_retarget, VIDEO_MOCAP_PT_mapping)
